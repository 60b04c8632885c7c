"""Sales orders through both doors, against seeded SQLite and PostgreSQL, two tenants present.

Every expectation comes from an oracle that reads the raw ERP rows with SQLAlchemy and applies the
rules the README states under Views in Python; it shares no code with the view.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support import TODAY, LiveServer, mcp_session, walk
from tools import schema as s

CENT = Decimal("0.01")
START_OF_TODAY = datetime.combine(TODAY, time())
ORDER_TYPES = ("SALESORDER", "SALESINVOICE")


# -- the oracle: raw rows and the rules of the document model --------------------------------


@dataclass(frozen=True)
class Line:
    qty_ordered: Decimal
    qty_delivered: Decimal
    price: Decimal


@dataclass(frozen=True)
class Receipt:
    qty: Decimal
    line_price: Decimal
    booked: bool


@dataclass
class Document:
    id: int
    name: str | None
    company_id: int
    company_name: str
    company_orgno: str | None
    status_id: int
    status_name: str
    type: str
    is_order_intake: bool
    is_sales: bool
    is_purchase: bool
    invoice_number: int | None
    purchase_number: int | None
    date_order: datetime
    date_delivery: datetime
    date_invoice: datetime | None
    date_due: datetime | None
    total_ex_vat: Decimal
    total_vat: Decimal
    total_inc_vat: Decimal
    currency: str
    paid: Decimal = Decimal(0)
    lines: list[Line] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    @property
    def open_amount(self) -> Decimal:
        return self.total_inc_vat - self.paid

    @property
    def has_qty_left_to_deliver(self) -> bool:
        return any(line.qty_delivered < line.qty_ordered for line in self.lines)

    def matches_text(self, q: str, number: int | None) -> bool:
        text = q.lower()
        by_number = q.isdigit() and int(q) in (self.id, number)
        return by_number or text in self.company_name.lower() or text in (self.name or "").lower()


_DOCUMENTS: dict[str, list[Document]] = {}


def documents(server: LiveServer, tenant: str = "demo") -> list[Document]:
    """Every ``Orders`` row of the tenant with its payments, lines and goods receipts."""
    url = server.settings.tenants[tenant]
    if url not in _DOCUMENTS:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                _DOCUMENTS[url] = _load(conn)
        finally:
            engine.dispose()
    return _DOCUMENTS[url]


def _load(conn: sa.Connection) -> list[Document]:
    o, c, st, t, cur = s.orders, s.companies, s.order_statuses, s.order_status_types, s.currencies
    stmt = (
        sa.select(o, c.c.Name.label("CompanyName"), c.c.Orgno, st.c.Name.label("StatusName"))
        .add_columns(t.c.SystemName, st.c.IsOrderIntake, st.c.IsSales, st.c.IsPurchase, cur.c.IsoCode)
        .join(c, c.c.Id == o.c.CompanyId)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(t, t.c.Id == st.c.OrderStatusTypeId)
        .join(cur, cur.c.Id == o.c.CurrencyId)
    )
    docs = {row.Id: _document(row) for row in conn.execute(stmt)}
    for pay in conn.execute(sa.select(s.payments)):
        docs[pay.OrderId].paid += pay.Amount
    i, r = s.order_items, s.inv_transactions
    for line in conn.execute(sa.select(i)):
        docs[line.OrderId].lines.append(Line(line.QtyOrdered, line.QtyDelivered, line.Price))
    for rec in conn.execute(sa.select(r.c.Qty, r.c.IsBooked, i.c.OrderId, i.c.Price).join(i)):
        docs[rec.OrderId].receipts.append(Receipt(rec.Qty, rec.Price, bool(rec.IsBooked)))
    return list(docs.values())


def _document(row: Any) -> Document:
    return Document(
        id=row.Id,
        name=row.Name,
        company_id=row.CompanyId,
        company_name=row.CompanyName,
        company_orgno=row.Orgno,
        status_id=row.OrderStatusId,
        status_name=row.StatusName,
        type=row.SystemName,
        is_order_intake=bool(row.IsOrderIntake),
        is_sales=bool(row.IsSales),
        is_purchase=bool(row.IsPurchase),
        invoice_number=row.InvoiceNumber,
        purchase_number=row.PurchaseNumber,
        date_order=row.DateOrder,
        date_delivery=row.DateDelivery,
        date_invoice=row.DateInvoice,
        date_due=row.DateDue,
        total_ex_vat=row.TotalExVat,
        total_vat=row.TotalVat,
        total_inc_vat=row.TotalIncVat,
        currency=row.IsoCode,
    )


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal) -> float:
    return float(amount.quantize(CENT, ROUND_HALF_UP))


def utc(day: str) -> datetime:
    """A query value as the database keeps it: a date alone is midnight UTC."""
    return datetime.fromisoformat(day).replace(tzinfo=None)


def newest_order_first(docs: list[Document]) -> list[Document]:
    return sorted(docs, key=lambda d: (d.date_order, d.id), reverse=True)


def expected_sales_order(d: Document) -> dict[str, Any]:
    over_delivered = any(line.qty_delivered > line.qty_ordered for line in d.lines)
    invoiced_short = d.type == "SALESINVOICE" and d.has_qty_left_to_deliver
    return {
        "id": d.id,
        "name": d.name,
        "customerId": d.company_id,
        "customerName": d.company_name,
        "customerOrgno": d.company_orgno,
        "statusId": d.status_id,
        "statusName": d.status_name,
        "dateOrder": iso(d.date_order),
        "dateDelivery": iso(d.date_delivery),
        "dateInvoice": iso(d.date_invoice),
        "dateDue": iso(d.date_due),
        "totalExVat": money(d.total_ex_vat),
        "totalVat": money(d.total_vat),
        "totalIncVat": money(d.total_inc_vat),
        "openAmount": money(d.open_amount),
        "isLate": d.has_qty_left_to_deliver and d.date_delivery < START_OF_TODAY,
        "isFullyPaid": d.open_amount <= 0,
        "hasShipmentDiscrepancy": over_delivered or invoiced_short,
        "currencyIsoCode": d.currency,
    }


def counts_as(d: Document, types: tuple[str, ...], params: dict[str, Any], flags: dict[str, bool]) -> bool:
    """The document model: the view's types, then one pinned status or the statusKind's flag."""
    if d.type not in types:
        return False
    if "statusId" in params:
        return d.status_id == int(params["statusId"])
    return flags[params.get("statusKind", next(iter(flags)))]


def in_order_book_view(d: Document, params: dict[str, Any]) -> bool:
    flags = {"intake": d.is_order_intake, "sales": d.is_sales, "any": True}
    return counts_as(d, ORDER_TYPES, params, flags)


async def assert_bad_request(rest: httpx.AsyncClient, path: str, params: dict[str, Any], named: str) -> None:
    response = await rest.get(path, params=params)
    assert response.status_code == 400, (params, response.text)
    body = response.json()
    assert body["code"] == "bad_request"
    assert named in body["message"]


def order_book(server: LiveServer) -> list[Document]:
    return newest_order_first([d for d in documents(server) if in_order_book_view(d, {})])


def a_word_of(name: str) -> str:
    return max(name.split(), key=len)


# -- filter cases: parameters and the rows they must give, both from the raw data -------------

Case = tuple[dict[str, Any], Callable[[Document], bool]]


def _sample(server: LiveServer) -> Document:
    invoiced = [d for d in order_book(server) if d.type == "SALESINVOICE" and d.name]
    return invoiced[len(invoiced) // 3]


def _cases(server: LiveServer) -> dict[str, Case]:
    d = _sample(server)
    word = a_word_of(d.company_name)
    return {
        "customerId": ({"customerId": d.company_id}, lambda x: x.company_id == d.company_id),
        "customerName": ({"customerName": word.upper()}, lambda x: word.lower() in x.company_name.lower()),
        "currency": ({"currency": "ek"}, lambda x: x.currency == "SEK"),
        "orderDate": (
            {"orderDateFrom": "2026-09-01", "orderDateTo": "2026-09-30"},
            lambda x: utc("2026-09-01") <= x.date_order <= utc("2026-09-30"),
        ),
        "deliveryDate": (
            {"deliveryDateFrom": "2026-10-01", "deliveryDateTo": "2026-10-15T00:00:00Z"},
            lambda x: utc("2026-10-01") <= x.date_delivery <= utc("2026-10-15"),
        ),
        "invoiceDate": (
            {"invoiceDateFrom": "2026-06-01", "invoiceDateTo": "2026-06-30"},
            lambda x: x.date_invoice is not None and utc("2026-06-01") <= x.date_invoice <= utc("2026-06-30"),
        ),
        "totalExactly": (
            {"totalMin": str(d.total_ex_vat), "totalMax": str(d.total_ex_vat)},
            lambda x: x.total_ex_vat == d.total_ex_vat,
        ),
        "totalRange": (
            {"totalMin": "1000", "totalMax": "2500.5"},
            lambda x: 1000 <= x.total_ex_vat <= Decimal("2500.5"),
        ),
        "qId": ({"q": str(d.id)}, lambda x: x.matches_text(str(d.id), x.invoice_number)),
        "qInvoiceNumber": (
            {"q": str(d.invoice_number)},
            lambda x: x.matches_text(str(d.invoice_number), x.invoice_number),
        ),
        "qCustomerName": ({"q": word.lower()}, lambda x: x.matches_text(word, x.invoice_number)),
        "qOrderName": ({"q": "WEBSHOP"}, lambda x: x.matches_text("webshop", x.invoice_number)),
    }


FILTERS = sorted(
    [
        "customerId", "customerName", "currency", "orderDate", "deliveryDate", "invoiceDate",
        "totalExactly", "totalRange", "qId", "qInvoiceNumber", "qCustomerName", "qOrderName",
    ]
)  # fmt: skip


@pytest.mark.parametrize("case", FILTERS)
async def test_each_filter_narrows_the_order_book_to_the_matching_orders(
    server: LiveServer, rest: httpx.AsyncClient, case: str
) -> None:
    params, matches = _cases(server)[case]
    expected = [d for d in order_book(server) if matches(d)]
    assert expected, f"the demo data has orders for {case}"
    rows = await walk(rest, "/sales-orders", pageSize=100, **params)
    assert rows == [expected_sales_order(d) for d in expected]


# -- defaults and the document model ------------------------------------------------------------


async def test_sales_orders_default_to_the_order_book_including_shipped_orders(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, "/sales-orders", pageSize=100)
    assert rows == [expected_sales_order(d) for d in order_book(server)]
    types = {d.type for d in order_book(server)}
    assert types == {"SALESORDER", "SALESINVOICE"}
    assert any(r["isLate"] for r in rows) and any(r["hasShipmentDiscrepancy"] for r in rows)


@pytest.mark.parametrize("kind", ["sales", "any"])
async def test_status_kind_selects_by_flag_within_orders_and_invoices(
    server: LiveServer, rest: httpx.AsyncClient, kind: str
) -> None:
    expected = [
        d.id for d in newest_order_first(documents(server)) if in_order_book_view(d, {"statusKind": kind})
    ]
    rows = await walk(rest, "/sales-orders", pageSize=100, statusKind=kind)
    assert [r["id"] for r in rows] == expected
    assert len(expected) != len(order_book(server))


async def test_a_pinned_status_replaces_the_flag_and_other_document_types_match_nothing(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    docs = newest_order_first(documents(server))
    quote = next(d for d in docs if d.type == "SALESORDER" and not d.is_order_intake)
    credit = next(d for d in docs if d.type == "SALESCREDIT")
    purchase = next(d for d in docs if d.type == "PURCHASEORDER")
    rows = await walk(rest, "/sales-orders", pageSize=100, statusId=quote.status_id, statusKind="sales")
    assert [r["id"] for r in rows] == [d.id for d in docs if d.status_id == quote.status_id]
    for other in (credit, purchase):
        body = (await rest.get("/sales-orders", params={"statusId": other.status_id})).json()
        assert body["items"] == [] and body["nextCursor"] is None


async def test_date_ranges_include_both_ends_and_a_date_alone_means_midnight_utc(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    day = order_book(server)[40].date_order
    on_that_day = [d.id for d in order_book(server) if d.date_order == day]
    as_date = day.date().isoformat()
    rows = await walk(rest, "/sales-orders", orderDateFrom=as_date, orderDateTo=as_date)
    assert [r["id"] for r in rows] == on_that_day
    with_offset = f"{as_date}T02:00:00+02:00"
    rows = await walk(rest, "/sales-orders", orderDateFrom=with_offset, orderDateTo=with_offset)
    assert [r["id"] for r in rows] == on_that_day


async def test_every_row_keeps_the_money_invariants(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/sales-orders", params={"pageSize": 100, "statusKind": "any"})).json(
        parse_float=Decimal
    )
    for row in body["items"]:
        assert row["totalIncVat"] == row["totalExVat"] + row["totalVat"]
        for name in ("totalExVat", "totalVat", "totalIncVat", "openAmount"):
            assert row[name].as_tuple().exponent == -2, (name, row[name])
        assert row["isFullyPaid"] == (row["openAmount"] <= 0)
        assert row["dateOrder"].endswith("Z")


# -- paging and bad requests --------------------------------------------------------------------


async def test_paging_returns_every_order_exactly_once_in_newest_first_order(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    params = {"orderDateFrom": "2026-06-01", "statusKind": "any"}
    rows = await walk(rest, "/sales-orders", pageSize=37, **params)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) > 3 * 37
    since = utc("2026-06-01")
    docs = newest_order_first(documents(server))
    assert ids == [d.id for d in docs if d.type in ORDER_TYPES and d.date_order >= since]


async def test_page_size_is_clamped_to_one_hundred(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/sales-orders", params={"pageSize": 1000})).json()
    assert body["pageSizeApplied"] == 100
    assert len(body["items"]) == 100 and body["truncated"]


async def test_bad_parameters_are_400_naming_the_parameter(rest: httpx.AsyncClient) -> None:
    customers = (await rest.get("/customers", params={"pageSize": 1})).json()
    for params, named in [
        ({"pageSize": 0}, "pageSize"),
        ({"cursor": customers["nextCursor"]}, "cursor"),
        ({"orderDateFrom": "2026-02-30"}, "orderDateFrom"),
        ({"invoiceDateTo": "yesterday"}, "invoiceDateTo"),
        ({"statusKind": "open"}, "statusKind"),
        ({"totalMin": "lots"}, "totalMin"),
        ({"customerId": "acme"}, "customerId"),
    ]:
        await assert_bad_request(rest, "/sales-orders", params, named)


async def test_a_cursor_is_bound_to_its_filters(rest: httpx.AsyncClient) -> None:
    first = (await rest.get("/sales-orders", params={"pageSize": 2})).json()
    params = {"pageSize": 2, "statusKind": "any", "cursor": first["nextCursor"]}
    await assert_bad_request(rest, "/sales-orders", params, "cursor")


# -- tenants and the MCP door -------------------------------------------------------------------


async def test_another_tenants_orders_never_show_up(server: LiveServer, rest: httpx.AsyncClient) -> None:
    theirs = [d for d in documents(server, "demo-b") if d.type in ORDER_TYPES]
    ours = {r["id"] for r in await walk(rest, "/sales-orders", pageSize=100, statusKind="any")}
    assert ours and not ours & {d.id for d in theirs}
    body = (await rest.get("/sales-orders", params={"q": str(theirs[0].id), "statusKind": "any"})).json()
    assert theirs[0].id not in {r["id"] for r in body["items"]}


def an_mcp_user() -> str:
    """A user of its own per test (its own tool-call budget); the session opens and closes in
    the test's task."""
    return f"orders-{uuid.uuid4().hex[:8]}"


async def test_mcp_returns_the_same_body_as_rest(server: LiveServer, rest: httpx.AsyncClient) -> None:
    word = a_word_of(_sample(server).company_name)
    calls: list[dict[str, Any]] = [
        {"pageSize": 5},
        {"customerName": word, "statusKind": "any", "orderDateFrom": "2025-01-01", "pageSize": 3},
        {"totalMin": 1000, "currency": "SEK", "pageSize": 4},
    ]
    async with mcp_session(server, sub=an_mcp_user()) as mcp:
        for arguments in calls:
            result = await mcp.call_tool("list_sales_orders", arguments)
            assert not result.is_error, result.content
            rest_body = (await rest.get("/sales-orders", params=arguments)).json()
            assert rest_body["items"]
            assert result.structured_content == rest_body
            assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]


async def test_mcp_lists_the_tool_with_every_parameter_of_the_seed(server: LiveServer) -> None:
    async with mcp_session(server, sub=an_mcp_user()) as mcp:
        tools = (await mcp.list_tools()).tools
    tool = next(t for t in tools if t.name == "list_sales_orders")
    assert set(tool.input_schema["properties"]) == {
        "customerId", "customerName", "currency", "statusId", "statusKind", "orderDateFrom",
        "orderDateTo", "deliveryDateFrom", "deliveryDateTo", "invoiceDateFrom", "invoiceDateTo",
        "totalMin", "totalMax", "q", "cursor", "pageSize",
    }  # fmt: skip
    assert all(p.get("description") for p in tool.input_schema["properties"].values())
    assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert "order book" in (tool.description or "")
