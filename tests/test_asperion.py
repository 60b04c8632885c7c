"""Asperion-backed tenants: two administrations of one Asperion user, each synced into its own
tenant with nothing crossing; receivables and payables checked against Asperion's own
outstanding amounts and days overdue; the refresh token rotated and stored encrypted."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from connectors.core import Secrets, SourceContext, SourceNotFound, SourceSettings, sync_tenant
from connectors.core.credentials import CredentialStore
from connectors.core.secrets import secret_name
from tests.asperion_double import AsperionDouble, make_administration, serve
from tests.support import (
    TODAY,
    LiveServer,
    mcp_session,
    postgres_database,
    postgres_reachable,
    require_service,
    rest_client,
    start_server,
    walk,
)
from tools.db import create_tenant_engine
from tools.source_schema import source_credentials

CENT = Decimal("0.01")
ADMINISTRATIONS = {"demo": "1001", "demo-b": "1002"}  # tenant -> Asperion administration


@dataclass
class Synced:
    double: AsperionDouble
    server: LiveServer
    databases: dict[str, str]
    keys: dict[str, str]
    first_tokens: dict[str, str]


def settings_for(url: str, administration: str) -> SourceSettings:
    return SourceSettings(
        kind="asperion",
        base_url=url,
        token_url=url + "/connect/token",
        client_id="asstio-test",
        administration=administration,
        rate_limit="100000/second",
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with ExitStack() as stack:
        databases: dict[str, str] = {}
        for tenant in ADMINISTRATIONS:
            if request.param == "sqlite":
                databases[tenant] = f"sqlite:///{tmp_path_factory.mktemp('asperion') / tenant}.db"
            else:
                require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
                databases[tenant] = stack.enter_context(postgres_database(f"asperion_{tenant}"))
        double = AsperionDouble(
            [
                make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=130, purchases=40),
                make_administration("1002", "Drukkerij Het Anker", 12, TODAY, sales=60, purchases=25),
            ],
            TODAY,
        )
        url = stack.enter_context(serve(double))
        keys, first = {}, {}
        for tenant, administration in ADMINISTRATIONS.items():
            keys[tenant], first[tenant] = Fernet.generate_key().decode(), double.grant(tenant)
            values = {"refresh_token": first[tenant], "encryption_key": keys[tenant]}
            secrets = Secrets({secret_name(tenant, k): v for k, v in values.items()})
            engine = create_tenant_engine(databases[tenant], statement_timeout_ms=60_000)
            sync_tenant(SourceContext(tenant, settings_for(url, administration), secrets, engine))
            engine.dispose()
        server = start_server(
            Path(tmp_path_factory.mktemp("asperion-server")),
            databases,
            sources={t: settings_for(url, a) for t, a in ADMINISTRATIONS.items()},
            home_currency=dict.fromkeys(ADMINISTRATIONS, "EUR"),
        )
        stack.callback(server.stop)
        yield Synced(double, server, databases, keys, first)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


async def test_each_administration_lands_in_its_own_tenant_and_nothing_crosses(synced: Synced) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        async with rest_client(synced.server, tenant) as rest:
            customers = await walk(rest, "/customers", inactive="true", pageSize=100)
            invoices = await walk(rest, "/sales-invoices", pageSize=100)
        assert sorted(c["name"] for c in customers) == sorted(d["name"] for d in adm.debtors)
        assert sorted(i["invoiceNumber"] for i in invoices) == sorted(
            int(i["invoiceNumber"]) for i in adm.sales_invoices
        )
    assert set(synced.double.tenant_headers) == set(ADMINISTRATIONS.values())


async def test_receivables_are_asperions_outstanding_sales_invoices_per_debtor(synced: Synced) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        rows = synced.double.outstanding(adm.sales_invoices, adm.outstanding_sales, adm.debtors, "debtor")
        owed: dict[str, Decimal] = defaultdict(Decimal)
        overdue: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            owed[row["debtorName"]] += money(row["outstandingAmount"])
            if row["daysOverdue"] > 0:
                overdue[row["debtorName"]] += money(row["outstandingAmount"])
        async with rest_client(synced.server, tenant) as rest:
            body = (await rest.get("/receivables", params={"limit": 100})).json()
        got = {r["customerName"]: (money(r["open"]), money(r["overdue"])) for r in body["customers"]}
        assert got == {name: (amount, overdue[name]) for name, amount in owed.items()}


async def test_payables_match_asperions_outstanding_purchase_invoices_amounts_and_days_overdue(
    synced: Synced,
) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        rows = synced.double.outstanding(
            adm.purchase_invoices, adm.outstanding_purchases, adm.creditors, "creditor"
        )
        expected = {
            r["invoiceNumber"]: (money(r["outstandingAmount"]), max(0, r["daysOverdue"])) for r in rows
        }
        async with rest_client(synced.server, tenant) as rest:
            open_rows = await walk(rest, "/payables", pageSize=100)
            aging = (await rest.get("/payables/aging", params={"limit": 100})).json()
        got = {r["invoiceNumber"]: (money(r["openAmount"]), r["daysOverdue"]) for r in open_rows}
        assert got == expected
        assert money(aging["totals"]["open"]) == sum(amount for amount, _ in expected.values())
        over90 = sum(money(r["outstandingAmount"]) for r in rows if r["daysOverdue"] > 90)
        assert money(aging["totals"]["overdueOver90"]) == over90


async def test_asperion_keeps_no_stock_and_says_so_on_both_doors(synced: Synced) -> None:
    async with rest_client(synced.server, "demo") as rest:
        response = await rest.get("/warehouse-stock")
    assert response.status_code == 404 and response.json()["code"] == "not_in_source"
    assert "Asperion" in response.json()["message"]
    async with mcp_session(synced.server, "demo-b") as session:
        result = await session.call_tool("list_warehouse_stock", {})
    assert result.is_error and "Asperion" in result.content[0].text  # type: ignore[union-attr]


def test_the_refresh_token_is_rotated_and_stored_encrypted(synced: Synced) -> None:
    live = {chain: token for token, chain in synced.double.refresh_tokens.items()}
    for tenant in ADMINISTRATIONS:
        engine = create_tenant_engine(synced.databases[tenant])
        stored = CredentialStore(engine, "asperion", synced.keys[tenant]).read("refresh_token")
        with engine.connect() as conn:
            ciphertext = conn.execute(sa.select(source_credentials.c.Ciphertext)).scalar_one()
        engine.dispose()
        assert stored == live[tenant] != synced.first_tokens[tenant]  # the first one was used up
        assert live[tenant] not in ciphertext and json.dumps(live[tenant]) not in ciphertext


def test_a_sync_that_dies_mid_list_resumes_at_the_lost_page_and_doubles_nothing(tmp_path: Path) -> None:
    adm = make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=130, purchases=5)
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{tmp_path / 'crash.db'}"
    values = {"refresh_token": double.grant("demo"), "encryption_key": Fernet.generate_key().decode()}
    secrets = Secrets({secret_name("demo", k): v for k, v in values.items()})
    engine = create_tenant_engine(database)
    with serve(double) as url:
        context = SourceContext("demo", settings_for(url, "1001"), secrets, engine)
        double.fail_once = "/v1/salesinvoiceswithlines?page=2&pageSize=100"
        with pytest.raises(SourceNotFound):
            sync_tenant(context)
        double.listed.clear()
        sync_tenant(context)
    assert [p for p in double.listed if p.startswith("/v1/salesinvoiceswithlines")] == [
        "/v1/salesinvoiceswithlines?page=2&pageSize=100"
    ]
    with engine.connect() as conn:
        numbers = conn.exec_driver_sql('SELECT "InvoiceNumber" FROM "Orders"').scalars().all()
        open_total = conn.exec_driver_sql(
            'SELECT SUM(o."TotalIncVat") - (SELECT SUM("Amount") FROM "Payment") FROM "Orders" o'
        ).scalar_one()
    engine.dispose()
    assert sorted(numbers) == sorted(int(i["invoiceNumber"]) for i in adm.sales_invoices)
    assert money(open_total) == sum(adm.outstanding_sales.values())
