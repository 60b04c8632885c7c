"""A Wisedat-backed tenant: RSA login against a double with a real key pair, paged lists with
``modified_since``, a sync into SQLite and PostgreSQL, and the views through both doors with
values computed from the double's own objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.core import (
    AuthenticationFailed,
    Secrets,
    SourceSettings,
    TenantReport,
)
from connectors.core.http import SourceClient
from connectors.core.limiter import SourceRateLimiter
from connectors.wisedat.auth import RsaLogin
from tests.source_support import (
    assert_not_in_source,
    crash_then_resume,
    query,
    serve_tenants,
    sync_once,
    tenant_database,
    tenant_secrets,
)
from tests.support import TODAY, LiveServer, mcp_session, rest_client, walk
from tests.wisedat_double import WisedatDouble, make_data, serve
from tools.db import create_tenant_engine

CENT = Decimal("0.01")
TENANT = "demo"  # the development sign-in needs a tenant named demo


@dataclass
class Synced:
    double: WisedatDouble
    url: str
    server: LiveServer
    report: TenantReport
    database: str


def settings_for(url: str, double: WisedatDouble) -> SourceSettings:
    return SourceSettings(kind="wisedat", base_url=url, user=double.user, rate_limit="100000/second")


def secrets_for(double: WisedatDouble, password: str | None = None) -> Secrets:
    return tenant_secrets(TENANT, {"api_key": double.api_key, "password": password or double.password})


def sync(
    database: str, url: str, double: WisedatDouble, *, full: bool = False, password: str | None = None
) -> TenantReport:
    return sync_once(database, TENANT, settings_for(url, double), secrets_for(double, password), full=full)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with ExitStack() as stack:
        database = tenant_database(request.param, stack, tmp_path_factory, "wisedat")
        double = WisedatDouble(make_data())
        url = stack.enter_context(serve(double))
        report = sync(database, url, double)
        server = serve_tenants(
            stack, tmp_path_factory, {TENANT: database}, {TENANT: settings_for(url, double)}, "EUR"
        )
        yield Synced(double, url, server, report, database)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def live_invoices(synced: Synced) -> list[dict[str, Any]]:
    return [i for i in synced.double.data.invoices if not i["canceled"]]


async def test_every_sales_invoice_wisedat_has_is_listed_with_its_totals_on_both_doors(
    synced: Synced,
) -> None:
    expected = {i["document_number"]: money(i["total"]) for i in live_invoices(synced)}
    async with rest_client(synced.server, TENANT) as rest:
        rows = await walk(rest, "/sales-invoices", pageSize=100)
        first = (await rest.get("/sales-invoices", params={"pageSize": 5})).json()
    assert {r["invoiceNumber"]: money(r["totalIncVat"]) for r in rows} == expected
    async with mcp_session(synced.server, TENANT) as session:
        result = await session.call_tool("list_sales_invoices", {"pageSize": 5})
    assert json.loads(result.content[0].text) == first  # type: ignore[union-attr]


async def test_invoice_lines_are_the_charged_items_of_the_wisedat_invoice(synced: Synced) -> None:
    invoice = live_invoices(synced)[0]
    charged = [item for item in invoice["items"] if item["type"] in (1, 2)]
    day = invoice["date"]
    async with rest_client(synced.server, TENANT) as rest:
        body = {"from": day, "to": f"{day}T23:59:59Z", "pageSize": 100}
        lines = (await rest.post("/sales-invoice-lines", json=body)).json()
    mine = [line for line in lines["items"] if line["invoiceNumber"] == invoice["document_number"]]
    got = [(line["productNumber"], Decimal(str(line["quantity"]))) for line in mine]
    assert sorted(got) == sorted(
        (item["product"]["name"], Decimal(str(item["quantity"]))) for item in charged
    )


async def test_what_customers_owe_is_wisedats_invoices_less_their_payments(synced: Synced) -> None:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in synced.double.data.payments:
        for document in payment["associated_documents"]:
            paid[document["id"]] += money(document["received_value"])
    owed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    overdue: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for invoice in live_invoices(synced):
        open_amount = money(invoice["total"]) - paid[invoice["id"]]
        if open_amount > 0:
            key = (invoice["customer"]["id"], invoice["currency"]["id"])
            owed[key] += open_amount
            if datetime.fromisoformat(invoice["expiration_date"]).date() < TODAY:
                overdue[key] += open_amount
    names = {c["id"]: c["name"] for c in synced.double.data.customers}
    async with rest_client(synced.server, TENANT) as rest:
        body = (await rest.get("/receivables", params={"limit": 100})).json()
    got = {
        (row["customerName"], c["currencyIsoCode"]): (money(c["openAmount"]), money(c["overdueAmount"]))
        for row in body["customers"]
        for c in row["byCurrency"]
    }
    assert got == {(names[k[0]], k[1]): (v, overdue[k]) for k, v in owed.items()}
    assert body["homeCurrencyIsoCode"] == "EUR"


async def test_customers_inactive_ones_included_come_from_wisedat(synced: Synced) -> None:
    async with rest_client(synced.server, TENANT) as rest:
        rows = await walk(rest, "/customers", inactive="true", pageSize=100)
    assert sorted(r["name"] for r in rows) == sorted(c["name"] for c in synced.double.data.customers)


def test_suppliers_are_read_under_the_list_key_wisedats_description_shows(synced: Synced) -> None:
    """The description lists suppliers under ``salesmen``; the double serves them so."""
    engine = create_tenant_engine(synced.database)
    with engine.connect() as conn:
        names = conn.exec_driver_sql('SELECT "Name" FROM "Company" WHERE "IsVendor"').scalars().all()
    engine.dispose()
    assert sorted(names) == sorted(s["name"] for s in synced.double.data.suppliers)


async def test_warehouse_stock_is_wisedats_stock_per_product_and_place_lots_added_up(synced: Synced) -> None:
    data = synced.double.data
    warehouses = {w["id"]: w["description"] for w in data.warehouses}
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for product in data.products:
        for entry in product["stocks"]:
            place = (product["name"], warehouses[entry["id_warehouse"]], str(entry["id_location"]))
            expected[place] += Decimal(str(entry["current_stock"]))
    async with rest_client(synced.server, TENANT) as rest:
        rows = await walk(rest, "/warehouse-stock", pageSize=200)
    got = {
        (r["productNumber"], r["warehouseName"], r["locationName"]): Decimal(str(r["qtyInStock"]))
        for r in rows
    }
    assert got == expected


async def test_wisedat_has_no_purchase_side_and_says_so_on_both_doors(synced: Synced) -> None:
    await assert_not_in_source(synced.server, TENANT, "/purchase-orders", "list_purchase_orders", "Wisedat")


async def test_the_order_book_holds_wisedats_open_orders_and_leaves_closed_and_cancelled_out(
    synced: Synced,
) -> None:
    orders = synced.double.data.orders
    open_orders = {
        o["your_reference"]: money(o["total"]) for o in orders if not (o["closed"] or o["canceled"])
    }
    async with rest_client(synced.server, TENANT) as rest:
        book = await walk(rest, "/sales-orders", pageSize=100)
        every = await walk(rest, "/sales-orders", statusKind="any", pageSize=100)
        first = (await rest.get("/sales-orders", params={"pageSize": 5})).json()
    assert {r["name"]: money(r["totalIncVat"]) for r in book if r["name"]} == open_orders
    assert len(book) == len(open_orders) + len(live_invoices(synced))
    listed = {r["name"]: r["statusId"] for r in every if r["name"]}
    assert {o["your_reference"] for o in orders} == set(listed)
    assert {listed[o["your_reference"]] for o in orders if o["canceled"]} == {14}
    assert {listed[o["your_reference"]] for o in orders if o["closed"] and not o["canceled"]} == {15}
    async with mcp_session(synced.server, TENANT) as session:
        result = await session.call_tool("list_sales_orders", {"pageSize": 5})
    assert json.loads(result.content[0].text) == first  # type: ignore[union-attr]


async def test_open_order_lines_say_wisedat_records_no_deliveries(synced: Synced) -> None:
    await assert_not_in_source(synced.server, TENANT, "/open-order-lines", "list_open_order_lines", "Wisedat")
    async with rest_client(synced.server, TENANT) as rest:
        profile = (await rest.get("/company-profile")).json()
    missing = {v["view"]: v["missing"] for v in profile["views"]}["open-order-lines"]
    assert "delivered quantities" in missing and "movements of goods" in missing


def test_a_second_sync_asks_only_for_what_changed_and_writes_the_change(
    synced: Synced,
) -> None:
    double = synced.double
    invoice = live_invoices(synced)[3]
    invoice["total"] = float(money(invoice["total"]) + 10)
    double.touch(invoice, datetime.now(UTC))
    double.requests.clear()
    report = sync(synced.database, synced.url, double)
    assert report.written["salesinvoices"] == 1
    listed = [r for r in double.requests if r.startswith("/salesinvoices?") and "modified_since" in r]
    assert listed and not any(
        r.startswith("/customers?") and "modified_since" not in r for r in double.requests
    )
    engine = create_tenant_engine(synced.database)
    with engine.connect() as conn:
        total = conn.exec_driver_sql(
            f'SELECT "TotalIncVat" FROM "Orders" WHERE "InvoiceNumber" = {invoice["document_number"]}'
        ).scalar_one()
    engine.dispose()
    assert money(total) == money(invoice["total"])


def test_the_first_sync_paged_through_every_list(synced: Synced) -> None:
    data = synced.double.data
    assert synced.report.written["salesinvoices"] == len(data.invoices)  # 130 over two pages of 100
    assert synced.report.written["customers"] == len(data.customers)
    assert synced.report.written["orders"] == len(data.orders)


def test_login_decrypts_to_the_three_fields_and_bad_credentials_are_refused() -> None:
    double = WisedatDouble(make_data(invoices=3))
    with serve(double) as url:
        good = RsaLogin(url, double.api_key, double.user, double.password)
        assert good.fetch_token().access_token in double.tokens
        with pytest.raises(AuthenticationFailed, match="check the API key"):
            RsaLogin(url, double.api_key, double.user, "wrong").fetch_token()
        with pytest.raises(AuthenticationFailed):
            RsaLogin(url, "other-key", double.user, double.password).fetch_token()


def test_an_expired_jwt_is_renewed_by_logging_in_again() -> None:
    double = WisedatDouble(make_data(invoices=3))
    with serve(double) as url:
        login = RsaLogin(url, double.api_key, double.user, double.password)
        client = SourceClient(
            url, source="wisedat", tenant=TENANT, limiter=SourceRateLimiter("1000/second"), auth=login
        )
        assert client.get_json("/company")["currency"]["id"] == "EUR"
        double.tokens.clear()  # the server forgets (expires) every token it issued
        assert client.get_json("/company")["currency"]["id"] == "EUR"
        client.close()
    assert double.logins == 2


def test_a_sync_that_dies_mid_list_resumes_at_the_lost_page_and_doubles_nothing(tmp_path: Path) -> None:
    double = WisedatDouble(make_data())
    database = f"sqlite:///{tmp_path / 'crash.db'}"
    lost = "/salesinvoices?limit=100&page=2"
    with serve(double) as url:
        second = crash_then_resume(lambda: sync(database, url, double), double, lost, double.requests)
    assert [r for r in second if r.startswith("/salesinvoices?limit")] == [lost]
    rows = query(
        database, 'SELECT "InvoiceNumber" FROM "Orders" WHERE "InvoiceNumber" IS NOT NULL'
    )  # not orders
    assert sorted(r[0] for r in rows) == [i["document_number"] for i in double.data.invoices]


def test_the_sync_command_syncs_a_wisedat_tenant_configured_as_the_readme_says(tmp_path: Path) -> None:
    double = WisedatDouble(make_data(invoices=20))
    database = f"sqlite:///{tmp_path / 'loja.db'}"
    with serve(double) as url:
        config = tmp_path / "asstio.toml"
        config.write_text(
            "\n".join(
                [
                    'issuers = ["https://issuer.example"]',
                    'audience = "asstio"',
                    "[tenants]",
                    f'loja = "{database}"',
                    "[home_currency]",
                    'loja = "EUR"',
                    "[sources.loja]",
                    'kind = "wisedat"',
                    f'base_url = "{url}"',
                    f'user = "{double.user}"',
                ]
            )
            + "\n"
        )
        env = os.environ | {
            "ASSTIO_SECRET_LOJA_API_KEY": double.api_key,
            "ASSTIO_SECRET_LOJA_PASSWORD": double.password,
        }
        done = subprocess.run(
            [sys.executable, "-m", "mcp_server", "sync", "--config", str(config), "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert (
        double.password not in done.stdout + done.stderr and double.api_key not in done.stdout + done.stderr
    )
    engine = create_tenant_engine(database)
    with engine.connect() as conn:
        count = conn.exec_driver_sql(
            'SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" IS NOT NULL'
        ).scalar_one()
        orders = conn.exec_driver_sql(
            'SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" IS NULL'
        ).scalar_one()
    engine.dispose()
    assert count == len(double.data.invoices)
    assert orders == len(double.data.orders)
