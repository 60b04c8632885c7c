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
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.core import (
    AuthenticationFailed,
    Secrets,
    SourceRejected,
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
from tests.support import TODAY, LiveServer, cents, mcp_session, rest_client, walk
from tests.wisedat_double import WisedatDouble, make_data, serve
from tools.db import create_tenant_engine

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


def live_invoices(synced: Synced) -> list[dict[str, Any]]:
    return [i for i in synced.double.data.invoices if not i["canceled"]]


async def test_every_sales_invoice_wisedat_has_is_listed_with_its_totals_on_both_doors(
    synced: Synced,
) -> None:
    expected = {i["document_number"]: cents(i["total"]) for i in live_invoices(synced)}
    async with rest_client(synced.server, TENANT) as rest:
        rows = await walk(rest, "/sales-invoices", pageSize=100)
        first = (await rest.get("/sales-invoices", params={"pageSize": 5})).json()
    assert {r["invoiceNumber"]: cents(r["totalIncVat"]) for r in rows} == expected
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
            paid[document["id"]] += cents(document["received_value"])
    owed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    overdue: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for invoice in live_invoices(synced):
        open_amount = cents(invoice["total"]) - paid[invoice["id"]]
        if open_amount > 0:
            key = (invoice["customer"]["id"], invoice["currency"]["id"])
            owed[key] += open_amount
            if datetime.fromisoformat(invoice["expiration_date"]).date() < TODAY:
                overdue[key] += open_amount
    names = {c["id"]: c["name"] for c in synced.double.data.customers}
    async with rest_client(synced.server, TENANT) as rest:
        body = (await rest.get("/receivables", params={"limit": 100})).json()
    got = {
        (row["customerName"], c["currencyIsoCode"]): (cents(c["openAmount"]), cents(c["overdueAmount"]))
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
    async with rest_client(synced.server, TENANT) as rest:
        rows = await walk(rest, "/warehouse-stock", pageSize=200)
    assert stock_of(rows) == wisedat_stock(synced.double.data)


def wisedat_stock(data: Any) -> dict[tuple[str, str, str], Decimal]:
    """The stock per product, warehouse and location of the double's products, lots added up."""
    warehouses = {w["id"]: w["description"] for w in data.warehouses}
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for product in data.products:
        for entry in product["stocks"]:
            place = (product["name"], warehouses[entry["id_warehouse"]], str(entry["id_location"]))
            expected[place] += Decimal(str(entry["current_stock"]))
    return expected


def stock_of(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    return {
        (r["productNumber"], r["warehouseName"], r["locationName"]): Decimal(str(r["qtyInStock"]))
        for r in rows
    }


async def test_wisedat_has_no_purchase_side_and_says_so_on_both_doors(synced: Synced) -> None:
    await assert_not_in_source(synced.server, TENANT, "/purchase-orders", "list_purchase_orders", "Wisedat")


async def test_the_order_book_holds_wisedats_open_orders_and_leaves_closed_and_cancelled_out(
    synced: Synced,
) -> None:
    orders = synced.double.data.orders
    open_orders = {
        o["your_reference"]: cents(o["total"]) for o in orders if not (o["closed"] or o["canceled"])
    }
    async with rest_client(synced.server, TENANT) as rest:
        book = await walk(rest, "/sales-orders", pageSize=100)
        every = await walk(rest, "/sales-orders", statusKind="any", pageSize=100)
        first = (await rest.get("/sales-orders", params={"pageSize": 5})).json()
    assert {r["name"]: cents(r["totalIncVat"]) for r in book if r["name"]} == open_orders
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
    invoice["total"] = float(cents(invoice["total"]) + 10)
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
    assert cents(total) == cents(invoice["total"])


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


# -- deletions: what an incremental run can prove, and what --full reconciles -------------------


@dataclass
class Reconciled:
    double: WisedatDouble
    server: LiveServer
    database: str
    gone: dict[str, Any]  # the objects deleted at Wisedat, by what they are
    incremental: dict[str, Any]  # the tenant database after the incremental run that followed
    incremental_requests: list[str]
    resumed: list[str]  # the requests of the --full run that resumed the crashed one


def delete_at_wisedat(url: str, double: WisedatDouble, path: str, object_id: str) -> None:
    """``DELETE <path>?id=`` at the double, as a Wisedat user would delete it."""
    token = RsaLogin(url, double.api_key, double.user, double.password).fetch_token().access_token
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    httpx.delete(f"{url}{path}", params={"id": object_id}, headers=headers).raise_for_status()


def held(database: str, gone: dict[str, Any]) -> dict[str, Any]:
    """What the tenant database holds of the deleted objects (the test's own SQL)."""
    invoice, order, closed = gone["invoice"], gone["order"], gone["closed order"]
    payment_invoice = gone["payment"]["associated_documents"][0]["id"]
    numbers = {i: int(i[2:]) for i in (invoice["id"], payment_invoice)}  # FT00042: invoice 42
    return {
        "invoice": query(
            database,
            'SELECT COUNT(*) FROM "Orders" o JOIN "OrderItem" i ON i."OrderId" = o."Id" '
            f'WHERE o."InvoiceNumber" = {numbers[invoice["id"]]}',
        )[0][0],
        "invoice payments": query(
            database,
            'SELECT COUNT(*) FROM "Payment" p JOIN "Orders" o ON o."Id" = p."OrderId" '
            f'WHERE o."InvoiceNumber" = {numbers[invoice["id"]]}',
        )[0][0],
        "payment": query(
            database,
            'SELECT COUNT(*) FROM "Payment" p JOIN "Orders" o ON o."Id" = p."OrderId" '
            f'WHERE o."InvoiceNumber" = {numbers[payment_invoice]}',
        )[0][0],
        "order": query(
            database, f'SELECT COUNT(*) FROM "Orders" WHERE "Name" = \'{order["your_reference"]}\''
        )[0][0],
        "closed order status": query(
            database, f'SELECT "OrderStatusId" FROM "Orders" WHERE "Name" = \'{closed["your_reference"]}\''
        )[0][0],
        "customer inactive": bool(
            query(
                database, f'SELECT "Inactive" FROM "Company" WHERE "Name" = \'{gone["customer"]["name"]}\''
            )[0][0]
        ),
        "product active": bool(
            query(
                database,
                f'SELECT "IsActive" FROM "Product" WHERE "ProductNumber" = \'{gone["product"]["name"]}\'',
            )[0][0]
        ),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def reconciled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reconciled]:
    """A synced tenant whose Wisedat then deletes an invoice with a payment, a payment, an open
    order, a closed order (cancelled, as Wisedat does), a customer and a product; an incremental
    run, then a --full run that dies asking for the deleted invoice and is run again."""
    with ExitStack() as stack:
        database = tenant_database(request.param, stack, tmp_path_factory, "wisedel")
        double = WisedatDouble(make_data())
        data = double.data
        url = stack.enter_context(serve(double))
        sync(database, url, double)
        paid = [p["associated_documents"][0]["id"] for p in data.payments]
        gone = {
            "invoice": next(i for i in data.invoices if i["id"] == paid[2]),
            "payment": data.payments[5],
            "order": next(o for o in data.orders if not (o["closed"] or o["canceled"])),
            "closed order": next(o for o in data.orders if o["closed"] and not o["canceled"]),
            "customer": data.customers[4],
            "product": data.products[-1],
        }
        for what, path in [
            ("invoice", "/salesinvoices"),
            ("payment", "/payments"),
            ("order", "/orders"),
            ("closed order", "/orders"),
            ("customer", "/customers"),
            ("product", "/product"),
        ]:
            delete_at_wisedat(url, double, path, str(gone[what]["id"]))
        double.requests.clear()
        sync(database, url, double)
        incremental, incremental_requests = held(database, gone), list(double.requests)
        double.unlisted = {live_of(data)[-1]["id"]}  # there, but missed by the --full run's pages
        resumed = crash_then_resume(
            lambda: sync(database, url, double, full=True),
            double,
            f"/salesinvoices?id={gone['invoice']['id']}",
            double.requests,
            status=400,
        )
        double.unlisted = set()
        server = serve_tenants(
            stack, tmp_path_factory, {TENANT: database}, {TENANT: settings_for(url, double)}, "EUR"
        )
        yield Reconciled(double, server, database, gone, incremental, incremental_requests, resumed)


def live_of(data: Any) -> list[dict[str, Any]]:
    return [i for i in data.invoices if not i["canceled"]]


def test_an_incremental_run_removes_only_what_wisedat_says_is_cancelled(reconciled: Reconciled) -> None:
    """modified_since lists no deleted object: the run keeps what it cannot prove gone and asks
    for no detail it did not list; the closed order Wisedat cancelled is cancelled."""
    assert reconciled.incremental == {
        "invoice": len([i for i in reconciled.gone["invoice"]["items"] if i["type"] in (1, 2)]),
        "invoice payments": 1,
        "payment": 1,
        "order": 1,
        "closed order status": 14,  # cancelled
        "customer inactive": False,
        "product active": True,
    }
    details = [r for r in reconciled.incremental_requests if "?id=" in r]
    assert details == [f"/orders?id={reconciled.gone['closed order']['id']}"]


def test_after_full_the_deleted_are_gone_and_the_rest_is_whole(reconciled: Reconciled) -> None:
    assert held(reconciled.database, reconciled.gone) == {
        "invoice": 0,
        "invoice payments": 0,
        "payment": 0,  # the only payment of its invoice was deleted
        "order": 0,
        "closed order status": 14,
        "customer inactive": True,
        "product active": False,
    }
    data = reconciled.double.data
    lines = query(
        reconciled.database,
        'SELECT o."InvoiceNumber", o."Name", COUNT(i."Id") FROM "Orders" o '
        'JOIN "OrderItem" i ON i."OrderId" = o."Id" GROUP BY o."InvoiceNumber", o."Name"',
    )

    def charged(doc: dict[str, Any]) -> int:
        return len([i for i in doc["items"] if i["type"] in (1, 2)])

    expected = {(i["document_number"], None): charged(i) for i in data.invoices}
    expected |= {(None, o["your_reference"]): charged(o) for o in data.orders}
    assert {(n, name if n is None else None): c for n, name, c in lines} == expected
    payments = query(
        reconciled.database,
        'SELECT o."InvoiceNumber", p."Amount" FROM "Payment" p JOIN "Orders" o ON o."Id" = p."OrderId"',
    )
    invoices = {i["id"] for i in data.invoices}  # a payment of the deleted invoice settles nothing
    assert sorted((n, cents(a)) for n, a in payments) == sorted(
        (int(d["id"][2:]), cents(d["received_value"]))
        for p in data.payments
        for d in p["associated_documents"]
        if d["id"] in invoices
    )


async def test_after_full_both_doors_list_the_invoices_and_orders_wisedat_has(reconciled: Reconciled) -> None:
    data = reconciled.double.data
    async with rest_client(reconciled.server, TENANT) as rest:
        invoices = await walk(rest, "/sales-invoices", pageSize=100)
        orders = await walk(rest, "/sales-orders", statusKind="any", pageSize=100)
        first_invoices = (await rest.get("/sales-invoices", params={"pageSize": 100})).json()
        first_orders = (await rest.get("/sales-orders", params={"statusKind": "any", "pageSize": 100})).json()
    assert {r["invoiceNumber"]: cents(r["totalIncVat"]) for r in invoices} == {
        i["document_number"]: cents(i["total"]) for i in live_of(data)
    }
    assert {r["name"] for r in orders if r["name"]} == {o["your_reference"] for o in data.orders}
    async with mcp_session(reconciled.server, TENANT) as session:
        mcp_invoices = await session.call_tool("list_sales_invoices", {"pageSize": 100})
        mcp_orders = await session.call_tool("list_sales_orders", {"statusKind": "any", "pageSize": 100})
    assert json.loads(mcp_invoices.content[0].text) == first_invoices  # type: ignore[union-attr]
    assert json.loads(mcp_orders.content[0].text) == first_orders  # type: ignore[union-attr]


async def test_after_full_a_deleted_customer_is_inactive_on_both_doors(reconciled: Reconciled) -> None:
    data, gone = reconciled.double.data, reconciled.gone["customer"]
    async with rest_client(reconciled.server, TENANT) as rest:
        active = await walk(rest, "/customers", pageSize=100)
        every = await walk(rest, "/customers", inactive="true", pageSize=100)
        first = (await rest.get("/customers", params={"pageSize": 100})).json()
    assert sorted(r["name"] for r in active) == sorted(c["name"] for c in data.customers if c["active"])
    assert {r["name"]: r["inactive"] for r in every} == {
        c["name"]: not c["active"] for c in data.customers
    } | {gone["name"]: True}
    async with mcp_session(reconciled.server, TENANT) as session:
        result = await session.call_tool("list_customers", {"pageSize": 100})
    assert json.loads(result.content[0].text) == first  # type: ignore[union-attr]


def test_a_full_run_that_dies_while_reconciling_resumes_with_the_asking(reconciled: Reconciled) -> None:
    """The run that resumed did not list sales invoices again: their listing had committed."""
    asked = [r for r in reconciled.resumed if r.startswith("/salesinvoices?")]
    slid = live_of(reconciled.double.data)[-1]["id"]
    assert sorted(asked) == sorted(
        [f"/salesinvoices?id={reconciled.gone['invoice']['id']}", f"/salesinvoices?id={slid}"]
    )


async def test_after_full_a_deleted_product_is_inactive_and_holds_no_stock(reconciled: Reconciled) -> None:
    data, gone = reconciled.double.data, reconciled.gone["product"]
    async with rest_client(reconciled.server, TENANT) as rest:
        found = (await rest.get("/products/find", params={"q": gone["name"]})).json()
        stock = await walk(rest, "/warehouse-stock", pageSize=200)
    assert [(p["productNumber"], p["isActive"]) for p in found] == [(gone["name"], False)]
    assert stock_of(stock) == wisedat_stock(data) and gone["stocks"]  # it had stock before


def test_a_full_run_costs_a_first_runs_requests_and_one_more_per_object_gone(tmp_path: Path) -> None:
    """An incremental run asks each list once; --full lists everything and fetches every document
    as the first run did, and asks once for each object it did not see. A customer deleted and
    created again (so modified) is active again after an incremental run."""
    double = WisedatDouble(make_data(invoices=30, orders=10))
    data = double.data
    database = f"sqlite:///{tmp_path / 'cost.db'}"
    with serve(double) as url:
        first = sync(database, url, double)
        double.requests.clear()
        incremental = sync(database, url, double)
        lists = [r for r in double.requests if not r.startswith(("/status", "/authentication/login"))]
        customer, product, invoice = data.customers[2], data.products[0], data.invoices[4]
        for path, object_id in [
            ("/customers", customer["id"]),
            ("/product", product["id"]),
            ("/salesinvoices", invoice["id"]),
        ]:
            delete_at_wisedat(url, double, path, str(object_id))
        full = sync(database, url, double, full=True)
        inactive = query(database, 'SELECT "Name" FROM "Company" WHERE "Inactive"')
        data.customers.append(customer)
        double.touch(customer, datetime.now(UTC))
        sync(database, url, double)
    assert incremental.requests == len(lists) == len(set(lists))  # every list once
    assert not [r for r in lists if "id=" in r]  # and no detail
    assert full.requests == first.requests + 2  # the invoice's detail became its confirmation
    wisedat_inactive = {c["name"] for c in data.customers if not c["active"]}
    assert {r[0] for r in inactive} == wisedat_inactive | {customer["name"]}
    now_inactive = query(database, 'SELECT "Name" FROM "Company" WHERE "Inactive"')
    assert {r[0] for r in now_inactive} == wisedat_inactive


def test_a_payment_moved_to_another_invoice_leaves_the_first_after_an_incremental_run(
    tmp_path: Path,
) -> None:
    """A payment's rows are what its detail says now: the invoice it no longer settles is open again."""
    double = WisedatDouble(make_data(invoices=20, orders=2))
    data = double.data
    database = f"sqlite:///{tmp_path / 'moved.db'}"
    with serve(double) as url:
        sync(database, url, double)
        payment = data.payments[0]
        settled = {d["id"] for p in data.payments for d in p["associated_documents"]}
        other = next(i for i in data.invoices if i["id"] not in settled and not i["canceled"])
        payment["associated_documents"][0]["id"] = other["id"]
        double.touch(payment, datetime.now(UTC))
        sync(database, url, double)
    rows = query(
        database,
        'SELECT o."InvoiceNumber", p."Amount" FROM "Payment" p JOIN "Orders" o ON o."Id" = p."OrderId"',
    )
    assert sorted((n, cents(a)) for n, a in rows) == sorted(
        (int(d["id"][2:]), cents(d["received_value"]))
        for p in data.payments
        for d in p["associated_documents"]
    )


def invoices_held(database: str) -> dict[int, tuple[int, int]]:
    """Per invoice number in the tenant database: its lines and its payment rows (the test's SQL)."""
    lines = query(
        database,
        'SELECT o."InvoiceNumber", COUNT(i."Id") FROM "Orders" o LEFT JOIN "OrderItem" i '
        'ON i."OrderId" = o."Id" WHERE o."InvoiceNumber" IS NOT NULL GROUP BY o."InvoiceNumber"',
    )
    paid = query(
        database,
        'SELECT o."InvoiceNumber", COUNT(p."Id") FROM "Orders" o JOIN "Payment" p ON p."OrderId" = o."Id" '
        'GROUP BY o."InvoiceNumber"',
    )
    rows = dict(paid)
    return {number: (count, rows.get(number, 0)) for number, count in lines}


def wisedat_invoices(data: Any) -> dict[int, tuple[int, int]]:
    """The same, from the double's objects: charged items, and payments naming the invoice."""
    payments: dict[str, int] = defaultdict(int)
    for p in data.payments:
        if not p["canceled"]:
            for d in p["associated_documents"]:
                payments[d["id"]] += 1
    return {
        i["document_number"]: (len([t for t in i["items"] if t["type"] in (1, 2)]), payments[i["id"]])
        for i in data.invoices
    }


def test_a_document_deleted_between_list_and_detail_is_removed_and_the_run_goes_on(tmp_path: Path) -> None:
    """An incremental run lists a changed invoice whose detail then answers 404 (Wisedat deleted
    it in between): the invoice goes with its lines and payment, and the run syncs the lists
    after it."""
    double = WisedatDouble(make_data(invoices=30, orders=6))
    data = double.data
    database = f"sqlite:///{tmp_path / 'between.db'}"
    with serve(double) as url:
        sync(database, url, double)
        invoice = next(
            i for i in data.invoices if i["id"] == data.payments[1]["associated_documents"][0]["id"]
        )
        assert invoices_held(database)[invoice["document_number"]][1] == 1  # held with its payment
        double.touch(invoice, datetime.now(UTC))  # modified, so the incremental run lists it
        double.requests.clear()
        detail = f"/salesinvoices?id={invoice['id']}"
        double.fail_once = detail  # the 404 Wisedat answers for a deleted document, once
        report = sync(database, url, double)
        requests = list(double.requests)
        delete_at_wisedat(url, double, "/salesinvoices", invoice["id"])  # what the 404 said
    assert requests.count(detail) == 1
    assert any(r.startswith("/orders?limit") for r in requests[requests.index(detail) :])
    assert any(r.startswith("/payments?limit") for r in requests[requests.index(detail) :])
    assert set(report.written) >= {"salesinvoices", "orders", "payments"}
    held_now = invoices_held(database)
    assert invoice["document_number"] not in held_now
    assert held_now == wisedat_invoices(data)
    gone = query(
        database,
        f'SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" = {invoice["document_number"]}',
    )
    assert gone == [(0,)]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_supplier_deleted_in_wisedat_is_inactive_after_full(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No view shows suppliers (Wisedat has no purchase side), so the test reads them with SQL:
    an incremental run cannot prove the deletion and keeps the supplier active; --full asks for
    its detail, gets 404 and marks it inactive; the others are as Wisedat has them."""
    with ExitStack() as stack:
        database = tenant_database(kind, stack, tmp_path_factory, "wisesup")
        double = WisedatDouble(make_data(invoices=10, orders=2))
        data = double.data
        url = stack.enter_context(serve(double))
        sync(database, url, double)
        supplier = data.suppliers[1]
        delete_at_wisedat(url, double, "/suppliers", str(supplier["id"]))
        sync(database, url, double)
        after_incremental = suppliers_held(database)
        double.requests.clear()
        sync(database, url, double, full=True)
        asked = [r for r in double.requests if r.startswith("/suppliers?id=")]
        after_full = suppliers_held(database)
    wisedat = {s["name"]: not s["active"] for s in data.suppliers}
    assert after_incremental == wisedat | {supplier["name"]: False}
    assert after_full == wisedat | {supplier["name"]: True}
    assert asked == [f"/suppliers?id={supplier['id']}"]


def suppliers_held(database: str) -> dict[str, bool]:
    """Each supplier in the tenant database and whether it is inactive."""
    rows = query(database, 'SELECT "Name", "Inactive" FROM "Company" WHERE "IsVendor"')
    return {name: bool(inactive) for name, inactive in rows}


def test_a_full_run_that_dies_is_finished_by_the_next_run_for_the_lists_after_it(tmp_path: Path) -> None:
    """--full dies at the products list (once only, 400), after the customer and supplier lists
    reconciled. The next run, incremental, still owes the lists from the one that died on a full
    reconciliation and does it: the deleted product is inactive, the deleted invoice gone with its
    lines and payment. The run after that owes nothing: it asks for no detail."""
    double = WisedatDouble(make_data(invoices=30, orders=6))
    data = double.data
    database = f"sqlite:///{tmp_path / 'owed.db'}"
    with serve(double) as url:
        sync(database, url, double)
        customer, product = data.customers[3], data.products[-1]
        invoice = next(
            i for i in data.invoices if i["id"] == data.payments[2]["associated_documents"][0]["id"]
        )
        for path, object_id in [
            ("/customers", customer["id"]),
            ("/product", product["id"]),
            ("/salesinvoices", invoice["id"]),
        ]:
            delete_at_wisedat(url, double, path, str(object_id))
        double.fail_once, double.fail_status = "/products?limit=", 400
        with pytest.raises(SourceRejected):
            sync(database, url, double, full=True)
        inactive_after_crash = query(database, 'SELECT "Name" FROM "Company" WHERE "Inactive"')
        held_after_crash = invoices_held(database)
        sync(database, url, double)
        inactive = query(database, 'SELECT "Name" FROM "Company" WHERE "Inactive"')
        retired = query(database, 'SELECT "ProductNumber" FROM "Product" WHERE NOT "IsActive"')
        held_after = invoices_held(database)
        double.requests.clear()
        sync(database, url, double)
        details = [r for r in double.requests if "?id=" in r]
    wisedat_inactive = {c["name"] for c in data.customers if not c["active"]}
    assert {r[0] for r in inactive_after_crash} == wisedat_inactive | {customer["name"]}
    assert invoice["document_number"] in held_after_crash  # the crash came before the invoices
    assert {r[0] for r in inactive} == wisedat_inactive | {customer["name"]}
    assert {r[0] for r in retired} == {p["name"] for p in data.products if not p["active"]} | {
        product["name"]
    }
    assert held_after == wisedat_invoices(data) and invoice["document_number"] not in held_after
    assert details == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_question_suite_is_answered_on_a_wisedat_tenant_and_what_wisedat_lacks_is_refused(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every question of the suite, asked through the MCP client of a synced tenant, agrees
    exactly with the suite's own SQL; a question needing what Wisedat does not have (a purchase
    side, supplier prices, delivered quantities) is answered with the refusal naming Wisedat.
    The books go back to the year before last, old invoices mostly paid (year-on-year questions
    and a receivables list of a readable length)."""
    from tests.questions.run import ask_all, explain, report

    with ExitStack() as stack:
        database = tenant_database(backend, stack, tmp_path_factory, "wisedat-questions")
        double = WisedatDouble(make_data(invoices=300, history_days=1050, settled_after_days=90))
        url = stack.enter_context(serve(double))
        sync(database, url, double)
        server = serve_tenants(
            stack, tmp_path_factory, {TENANT: database}, {TENANT: settings_for(url, double)}, "EUR"
        )
        outcomes = await ask_all(server, backend, TENANT, database, home="EUR", source="wisedat")
        print(report(outcomes))
        failed = [explain(o) for o in outcomes if not o.answered]
        assert not failed, report(outcomes) + "\n" + "\n".join(failed)
        assert {o.question.name for o in outcomes if o.refused} == {
            "received-not-invoiced",  # purchase orders
            "top-vendors",  # summary of purchases
            "purchases-per-month",
            "customer-late-lines",  # open order lines: no delivered quantities
            "product-late-lines",
            "cheapest-valid-price",  # vendor prices
            "valid-prices-ranked",
        }
        assert all("Wisedat" in o.answer.message for o in outcomes if o.refused)
        # what the books cannot name is said: no credit limits, no SEK, no hearing protection, no
        # supplier prices (for questions Wisedat refuses anyway)
        assert {o.question.name for o in outcomes if o.note} == {
            "customer-open-and-headroom",
            "foreign-rate",
            "search-without-diacritics",
            "cheapest-valid-price",
            "valid-prices-ranked",
        }
        # no e-invoice was received (the inbox is not the ERP): the drafts questions answer "none",
        # the only answers that say nothing
        assert {o.question.name for o in outcomes if o.trivial} == {
            "drafts-ready-to-match",
            "drafts-auto-eligible-lines",
        }
