"""A Fortnox-backed tenant, synced from the double into SQLite and PostgreSQL, answers every
view through both doors with the double's own figures (computed here from its objects).

The view tests run the double and the client at a generous rate limit so that a first sync of
a few thousand documents takes a minute, not ten; the real 25 requests / 5 s is exercised by
tests/test_fortnox_sync.py."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI

from connectors.core import SourceSettings
from tests.fortnox_double import spec
from tests.fortnox_double.data import FortnoxData
from tests.fortnox_double.server import RunningDouble
from tests.fortnox_support import demo_fortnox_data, incoming_of, start_double, sync_into
from tests.questions.run import ask_all, explain, report
from tests.support import (
    SAMPLE_ARGUMENTS,
    LiveServer,
    mcp_session,
    postgres_database,
    postgres_reachable,
    require_service,
    rest_client,
    start_server,
    walk,
)
from tests.test_parity import query_string
from tools.view import View, registered_views

ORDERS = 1000
TENANTS = {"sqlite": "demo", "postgres": "demo-b"}  # the test server's development issuer knows these


@pytest.fixture(scope="module")
def fortnox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDouble]:
    running = start_double(demo_fortnox_data(tmp_path_factory.mktemp("fortnox"), ORDERS))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def synced(fortnox: RunningDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("fortnox") as pg_url:
        urls = {"demo": f"sqlite:///{tmp_path_factory.mktemp('fortnox-db') / 'demo.db'}", "demo-b": pg_url}
        for tenant, url in urls.items():
            sync_into(url, fortnox, tenant=tenant)
        yield urls


@pytest.fixture(scope="module")
def server(synced: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    sources = {tenant: SourceSettings(kind="fortnox") for tenant in synced}
    live = start_server(Path(tmp_path_factory.mktemp("fortnox-server")), synced, sources=sources)
    yield live
    live.stop()


@pytest.fixture(params=sorted(TENANTS))
def tenant(request: pytest.FixtureRequest) -> str:
    return TENANTS[request.param]


@pytest.fixture
async def rest(server: LiveServer, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_client(server, tenant) as client:
        yield client


def data_of(fortnox: RunningDouble) -> FortnoxData:
    return fortnox.double.data


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def sent_invoices(data: FortnoxData) -> list[dict[str, Any]]:
    return [i for i in data.invoices.values() if not i["Cancelled"] and (i["Sent"] or i["Booked"])]


def paid_per_invoice(data: FortnoxData) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in data.payments.values():
        paid[str(payment["InvoiceNumber"])] += dec(payment["AmountCurrency"])
    return paid


def test_the_spec_the_double_checks_against_is_valid_openapi() -> None:
    OpenAPI.from_dict(spec.overlaid_spec())  # checks the spec and raises on the first error


def test_the_double_served_only_spec_shapes_to_operations_of_the_spec(
    fortnox: RunningDouble, synced: dict[str, str]
) -> None:
    assert fortnox.double.violations == []
    assert fortnox.double.data.documents() > 2000


async def test_customers_are_fortnox_customers_by_name(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    customers = await walk(rest, "/customers", pageSize=100)
    active = [c for c in data_of(fortnox).customers.values() if c["Active"]]
    assert sorted(c["name"] for c in customers) == sorted(c["Name"] for c in active)
    by_number = {c["contactNumber"]: c for c in customers}
    for customer in active:
        assert by_number[int(customer["CustomerNumber"])]["orgno"] == (customer["OrganisationNumber"] or None)


async def test_sales_invoices_carry_fortnox_totals_and_payments(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    listed = {
        row["invoiceNumber"]: row
        for row in await walk(rest, "/sales-invoices", documentType="both", pageSize=100)
    }
    expected = sent_invoices(data)
    assert sorted(listed) == sorted(int(i["DocumentNumber"]) for i in expected)
    paid = paid_per_invoice(data)
    for invoice in expected:
        row = listed[int(invoice["DocumentNumber"])]
        assert dec(row["totalIncVat"]) == dec(invoice["Total"])
        assert dec(row["totalVat"]) == dec(invoice["TotalVAT"])
        assert dec(row["paidAmount"]) == paid[invoice["DocumentNumber"]]
        assert dec(row["openAmount"]) == dec(invoice["Total"]) - paid[invoice["DocumentNumber"]]
        assert row["documentType"] == ("credit" if invoice["Credit"] == "true" else "invoice")
        assert row["dateInvoice"].startswith(invoice["InvoiceDate"])


async def test_the_order_book_is_open_orders_and_invoices(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    rows = await walk(rest, "/sales-orders", pageSize=100)
    orders = [o for o in data.orders.values() if not o["Cancelled"]]
    invoices = [i for i in data.invoices.values() if not i["Cancelled"] and i["Credit"] == "false"]
    assert len(rows) == len(orders) + len(invoices)
    expected_total = sum(dec(d["Total"]) for d in [*orders, *invoices])
    assert sum(dec(row["totalIncVat"]) for row in rows) == expected_total


async def test_open_order_lines_are_fortnox_rows_left_to_deliver(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    expected = [
        dec(row["OrderedQuantity"]) - dec(row["DeliveredQuantity"])
        for order in data.orders.values()
        if not order["Cancelled"]
        for row in order["OrderRows"]
        if dec(row["DeliveredQuantity"]) < dec(row["OrderedQuantity"])
    ]
    rows = await walk(rest, "/open-order-lines", pageSize=100)
    assert sorted(dec(r["qtyLeftToDeliver"]) for r in rows) == sorted(expected)


async def test_purchase_orders_are_the_sent_ones_still_open(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    rows = await walk(rest, "/purchase-orders", pageSize=100)
    expected = [po["id"] for po in data.purchase_orders.values() if po["purchaseOrderState"] == "SENT"]
    assert sorted(r["purchaseNumber"] for r in rows) == sorted(expected)


async def test_stock_is_fortnox_balance_per_stock_point(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    rows = await walk(rest, "/warehouse-stock", pageSize=200)
    shown = {(r["productNumber"], r["warehouseName"], r["locationName"]): dec(r["qtyInStock"]) for r in rows}
    point = {p["code"]: p["name"] for p in data.stock_points.values()}
    expected = {(b["itemId"], point[b["stockPointCode"]], "*"): dec(b["inStock"]) for b in data.stock_balance}
    # an article on order at a stock point that holds none of it is shown there with nothing in stock
    expected |= {
        (item, name, "*"): Decimal(0) for item, name in incoming_of(data) if (item, name, "*") not in expected
    }
    assert shown == expected


async def test_incoming_stock_is_what_open_fortnox_purchase_orders_still_bring(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    expected = incoming_of(data)
    assert len(expected) > 20 and len({name for _, name in expected}) > 1
    rows = await walk(rest, "/warehouse-stock", pageSize=200)
    shown = {(r["productNumber"], r["warehouseName"]): dec(r["qtyIncoming"]) for r in rows}
    assert {key: qty for key, qty in shown.items() if qty} == expected
    available = {
        (b["itemId"], p["name"]): dec(b["availableStock"])
        for b in data.stock_balance
        for p in data.stock_points.values()
        if p["code"] == b["stockPointCode"]
    }
    for r in rows:
        key = (r["productNumber"], r["warehouseName"])
        assert dec(r["qtyDistributable"]) == available.get(key, Decimal(0)) + expected.get(key, Decimal(0))


async def test_vendor_prices_are_the_articles_purchase_prices(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    data = data_of(fortnox)
    priced = [a for a in data.articles.values() if "SupplierNumber" in a][:8]
    assert priced
    for article in priced:
        found = (await rest.get("/products/find", params={"q": article["ArticleNumber"]})).json()
        product = next(p for p in found if p["productNumber"] == article["ArticleNumber"])
        prices = (await rest.get("/vendor-prices", params={"productId": product["productId"]})).json()[
            "items"
        ]
        assert [(dec(p["price"]), p["supplierName"]) for p in prices] == [
            (dec(article["PurchasePrice"]), data.suppliers[article["SupplierNumber"]]["Name"])
        ]


async def test_the_mcp_door_answers_the_same_invoices(
    fortnox: RunningDouble, server: LiveServer, tenant: str
) -> None:
    data = data_of(fortnox)
    async with mcp_session(server, tenant) as mcp:
        result = await mcp.call_tool("list_sales_invoices", {"pageSize": 100, "documentType": "both"})
    assert result.structured_content is not None
    by_number = {i["DocumentNumber"]: i for i in sent_invoices(data)}
    for row in result.structured_content["items"]:
        assert dec(row["totalIncVat"]) == dec(by_number[str(row["invoiceNumber"])]["Total"])
    assert len(result.structured_content["items"]) == min(100, len(by_number))


async def test_invoice_lines_are_the_rows_of_sent_invoices(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    invoices = [
        i for i in sent_invoices(data_of(fortnox)) if i["Credit"] == "false"
    ]  # credits have no lines here
    lines, cursor = [], None
    while True:
        page = (await rest.post("/sales-invoice-lines", json={"pageSize": 100, "cursor": cursor})).json()
        lines += page["items"]
        if not (cursor := page["nextCursor"]):
            break
    assert len(lines) == sum(len(i["InvoiceRows"]) for i in invoices)
    expected = sum(dec(row["Total"]) for i in invoices for row in i["InvoiceRows"])
    assert sum(dec(line["sumExVat"]) for line in lines) == expected


def payables_of(data: FortnoxData) -> dict[tuple[str, str], dict[str, Any]]:
    """The double's booked supplier invoices by supplier and invoice number, with what is paid
    (each payment's ``AmountCurrency``) and what is left."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in data.supplier_payments.values():
        paid[payment["InvoiceNumber"]] += dec(payment["AmountCurrency"])
    return {
        (i["SupplierName"], i["InvoiceNumber"]): i
        | {"paid": paid[i["GivenNumber"]], "open": dec(i["Total"]) - paid[i["GivenNumber"]]}
        for i in data.supplier_invoices.values()
        if i["Booked"] and not i["Cancelled"]
    }


async def test_payables_are_fortnox_booked_supplier_invoices_with_their_payments(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    expected = payables_of(data_of(fortnox))
    assert (
        expected and any(i["paid"] for i in expected.values()) and any(i["open"] for i in expected.values())
    )
    rows = {
        (row["supplierName"], row["invoiceNumber"]): row
        for row in await walk(rest, "/payables", state="any", pageSize=100)
    }
    assert sorted(rows) == sorted(expected)
    for number, invoice in expected.items():
        row = rows[number]
        assert (row["supplierName"], row["currencyIsoCode"]) == (invoice["SupplierName"], invoice["Currency"])
        assert dec(row["totalIncVat"]) == dec(invoice["Total"])
        assert dec(row["totalVat"]) == dec(invoice["VAT"])
        assert dec(row["paidAmount"]) == invoice["paid"]
        assert dec(row["openAmount"]) == invoice["open"]
        assert row["dateDue"].startswith(invoice["DueDate"])
    open_rows = await walk(rest, "/payables", pageSize=100)
    still_open = {(r["supplierName"], r["invoiceNumber"]) for r in open_rows}
    assert still_open == {n for n, i in expected.items() if i["open"] > 0}


async def test_payables_aging_sums_each_fortnox_suppliers_open_and_overdue(
    fortnox: RunningDouble, rest: httpx.AsyncClient
) -> None:
    body = (await rest.get("/payables/aging", params={"limit": 100})).raise_for_status().json()
    as_of = date.fromisoformat(body["asOf"])
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for invoice in payables_of(data_of(fortnox)).values():
        if invoice["open"] > 0:
            own = sums[invoice["SupplierName"], invoice["Currency"]]
            own[0] += invoice["open"]
            own[1] += invoice["open"] if date.fromisoformat(invoice["DueDate"]) < as_of else 0
    assert not body["truncated"] and body["supplierCount"] == len({name for name, _ in sums})
    shown = {
        (row["supplierName"], c["currencyIsoCode"]): [dec(c["openAmount"]), dec(c["overdueAmount"])]
        for row in body["suppliers"]
        for c in row["byCurrency"]
    }
    assert shown == sums


async def test_the_mcp_door_lists_the_same_fortnox_payables(
    fortnox: RunningDouble, server: LiveServer, tenant: str
) -> None:
    expected = payables_of(data_of(fortnox))
    async with mcp_session(server, tenant) as mcp:
        result = await mcp.call_tool("list_payables", {"pageSize": 100, "state": "any"})
        aging = await mcp.call_tool("get_payables_aging", {"limit": 100})
    assert result.structured_content is not None and aging.structured_content is not None
    items = result.structured_content["items"]
    assert len(items) == min(100, len(expected))
    for row in items:
        assert dec(row["openAmount"]) == expected[row["supplierName"], row["invoiceNumber"]]["open"]
    assert aging.structured_content["supplierCount"] == len(
        {i["SupplierNumber"] for i in expected.values() if i["open"] > 0}
    )


# Views filled from the e-invoice inbox (Peppol, Maventa), not from the ERP: a tenant synced from
# Fortnox alone has received no e-invoice, so these list nothing and name no draft.
INBOX_VIEWS = {"inbound-documents", "purchase-invoice-drafts", "purchase-invoice-matches"}


async def fortnox_ids(rest: httpx.AsyncClient) -> dict[str, list[dict[str, Any]]]:
    """Arguments naming records found in the synced tenant, for the views that take an id."""
    customer = (await rest.get("/customers", params={"pageSize": 1})).json()["items"][0]["id"]
    product = (await rest.get("/products/find", params={"q": "a", "limit": 1})).json()[0]["productId"]
    drafts = (await rest.get("/purchase-invoice-drafts", params={"pageSize": 1, "matchState": "any"})).json()
    assert drafts["items"] == []  # no e-invoice received: matches are asked of an id that is not there
    return {
        "customer": [{"customerId": customer}],
        "vendor-prices": [{"productId": product}, {"productId": product, "validFirst": True}],
        "purchase-invoice-matches": [{"invoiceId": 1}],
    }


async def rest_response(rest: httpx.AsyncClient, view: View, arguments: dict[str, Any]) -> httpx.Response:
    path, remaining = view.path, dict(arguments)
    for name in view.path_params:
        path = path.replace("{" + name + "}", str(remaining.pop(name)))
    if view.method == "POST":
        return await rest.post(path, json=remaining)
    return await rest.get(path, params=query_string(remaining))


async def test_every_read_view_answers_the_same_through_both_doors_from_fortnox(
    server: LiveServer, tenant: str
) -> None:
    checked, errors = set(), {}
    sub = f"every-view-{tenant}"  # a user of its own per tenant: each run stays within 60 tool calls a minute
    async with rest_client(server, tenant, sub) as rest, mcp_session(server, tenant, sub) as mcp:
        by_id = await fortnox_ids(rest)
        for view in registered_views():
            if view.writes:
                continue
            for n, arguments in enumerate(SAMPLE_ARGUMENTS.get(view.name, []) + by_id.get(view.name, [])):
                response = await rest_response(rest, view, arguments)
                result = await mcp.call_tool(view.tool, arguments)
                checked.add(view.name)
                if response.status_code != 200:
                    code = response.json()["code"]
                    assert result.is_error and code in result.content[0].text, (view.tool, code)  # type: ignore[union-attr]
                    errors[view.name] = code
                    continue
                assert not result.is_error, (view.tool, arguments, result.content)
                body = response.json()
                assert result.structured_content == (body if isinstance(body, dict) else {"result": body}), (
                    view.tool
                )
                assert json.loads(result.content[0].text) == body  # type: ignore[union-attr]
                if n == 0 and isinstance(body, dict) and "items" in body and view.name not in INBOX_VIEWS:
                    assert body["items"], f"{view.name} is filled by Fortnox yet lists nothing"
    assert checked == {v.name for v in registered_views() if not v.writes}
    # Fortnox fills every view (no not_in_source); only the absent draft is not found.
    assert errors == {"purchase-invoice-matches": "not_found"}


async def test_the_question_suite_is_answered_exactly_on_a_fortnox_tenant(
    server: LiveServer, synced: dict[str, str], tenant: str
) -> None:
    backend = next(name for name, own in TENANTS.items() if own == tenant)
    outcomes = await ask_all(server, backend, tenant, synced[tenant], source="fortnox")
    print(report(outcomes))
    failed = [explain(o) for o in outcomes if not o.answered]
    assert not failed, report(outcomes) + "\n" + "\n".join(failed)
    # Fortnox keeps no credit limit on a customer: the headroom question is answered "no limit
    # set" (null) and the run says so, for that question alone.
    assert {o.question.name: o.expected[2] for o in outcomes if o.note} == {
        "customer-open-and-headroom": None
    }
