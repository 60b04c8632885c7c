"""Helpers for the Fortnox tests: a double made from demo data, a sync into a database, a
config file for the real ``asstio-mcp sync`` command."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.core import Secrets, SourceContext, SourceSettings, TenantReport, sync_tenant
from connectors.core.secrets import secret_name
from demo.generate import generate
from demo.payables import write_supplier_invoices
from tests.fortnox_double.data import FortnoxData, from_demo
from tests.fortnox_double.server import FortnoxDouble, RunningDouble, serve
from tools.db import create_tenant_engine

FAST = "100000/5 seconds"  # the view tests' limit, client and double alike (the real one: 25/5)


def demo_fortnox_data(tmp: Path, orders: int, seed: int = 3) -> FortnoxData:
    engine = sa.create_engine(f"sqlite:///{tmp / f'demo-{orders}-{seed}.db'}")
    today = date(2026, 11, 20)
    generate(engine, seed=seed, orders=orders, today=today, default_currency="SEK", progress=False)
    with engine.begin() as conn:
        write_supplier_invoices(conn, seed=seed, today=today)
    data = from_demo(engine)
    engine.dispose()
    return data


def start_double(data: FortnoxData, *, rate: int = 100_000, **options: Any) -> RunningDouble:
    return serve(FortnoxDouble(data, rate=rate, **options))


def source_settings(running: RunningDouble, rate_limit: str = FAST, **options: Any) -> SourceSettings:
    credentials = running.double.credentials
    return SourceSettings(
        kind="fortnox",
        base_url=running.url,
        rate_limit=rate_limit,
        token_url=running.token_url,
        client_id=credentials.client_id,
        tenant_id=credentials.tenant_id,
        **options,
    )


def secrets_for(running: RunningDouble, tenant: str = "acme", extra: dict[str, str] | None = None) -> Secrets:
    values = {"client_secret": running.double.credentials.client_secret} | (extra or {})
    return Secrets({secret_name(tenant, name): value for name, value in values.items()})


def sync_into(
    url: str,
    running: RunningDouble,
    *,
    full: bool = False,
    tenant: str = "acme",
    extra_secrets: dict[str, str] | None = None,
    **options: Any,
) -> TenantReport:
    engine = create_tenant_engine(url, statement_timeout_ms=120_000)
    try:
        secrets = secrets_for(running, tenant, extra_secrets)
        context = SourceContext(tenant, source_settings(running, **options), secrets, engine)
        return sync_tenant(context, full=full)
    finally:
        engine.dispose()


def sync_config(path: Path, running: RunningDouble, tenants: dict[str, str], rate_limit: str = FAST) -> Path:
    credentials = running.double.credentials
    lines = ['issuers = ["https://issuer.example"]', 'audience = "asstio"', "[tenants]"]
    lines += [f'{tenant} = "{url}"' for tenant, url in tenants.items()]
    for tenant in tenants:
        lines += [
            f"[sources.{tenant}]",
            'kind = "fortnox"',
            f'base_url = "{running.url}"',
            f'token_url = "{running.token_url}"',
            f'client_id = "{credentials.client_id}"',
            f'tenant_id = "{credentials.tenant_id}"',
            f'rate_limit = "{rate_limit}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def incoming_of(data: FortnoxData) -> dict[tuple[str, str], Decimal]:
    """Per article and stock point name: the remaining quantity of the rows of purchase orders
    sent and not yet received (the double's open ones), at the row's stock point or the order's."""
    point = {p["code"]: p["name"] for p in data.stock_points.values()}
    incoming: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for po in data.purchase_orders.values():
        if po["purchaseOrderState"] == "SENT" and not po["voided"]:
            for row in po["rows"]:
                code = row.get("stockPointCode") or po["stockPointCode"]
                incoming[row["itemId"], point[code]] += Decimal(str(row["remainingOrderedQuantity"]))
    return {key: qty for key, qty in incoming.items() if qty > 0}
