"""Sales invoice lines (POST body) through both doors, against seeded SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer
from tools import schema as s
from tools.reference import SALESINVOICE, STATUSES

PREVIEW = next(
    status.id for status in STATUSES if status.type_id == 2 and status.name == "Förhandsgranskning"
)
CONFIRMED_ORDER = next(status.id for status in STATUSES if status.type_id == 1 and status.name == "Bekräftad")

PATH = "/sales-invoice-lines"


@dataclass(frozen=True)
class InvoiceLine:
    invoice_id: int
    line_id: int
    line_no: int
    date_invoice: datetime
    customer_id: int
    product_id: int | None
    status_id: int
    is_sales: bool
    qty_ordered: Decimal

    @property
    def order(self) -> tuple[Any, ...]:
        """The documented order: newest invoice first, then the lines in line order."""
        return (-self.date_invoice.timestamp(), -self.invoice_id, self.line_no, self.line_id)


def invoice_lines(server: LiveServer, tenant: str = "demo") -> list[InvoiceLine]:
    """Every line of every SALESINVOICE document, read from the raw ERP tables."""
    o, i, st, t = s.orders, s.order_items, s.order_statuses, s.order_status_types
    stmt = (
        sa.select(
            o.c.Id, i.c.Id.label("LineId"), i.c.LineNo, o.c.DateInvoice, o.c.CompanyId,
            i.c.ProductId, o.c.OrderStatusId, st.c.IsSales, i.c.QtyOrdered,
        )
        .join(i, i.c.OrderId == o.c.Id)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(t, t.c.Id == st.c.OrderStatusTypeId)
        .where(t.c.SystemName == SALESINVOICE)
    )  # fmt: skip
    engine = sa.create_engine(server.settings.tenants[tenant])
    with engine.connect() as conn:
        lines = [InvoiceLine(*row) for row in conn.execute(stmt)]
    engine.dispose()
    return sorted(lines, key=lambda line: line.order)


async def walk(rest: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (await rest.post(PATH, json=body | {"cursor": cursor})).raise_for_status().json()
        rows += page["items"]
        assert page["truncated"] == (page["nextCursor"] is not None)
        if not page["truncated"]:
            return rows
        cursor = page["nextCursor"]


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["lineId"] for row in rows]


def busiest(values: list[Any]) -> Any:
    return max(set(values), key=values.count)


async def test_a_customers_sales_lines_come_newest_first_each_exactly_once(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = [line for line in invoice_lines(server) if line.is_sales]
    customer = busiest([line.customer_id for line in lines])
    rows = await walk(rest, customerId=customer, pageSize=7)
    assert ids(rows) == [line.line_id for line in lines if line.customer_id == customer]
    assert len(rows) > 7


async def test_each_filter_narrows_to_the_lines_the_raw_rows_give(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = invoice_lines(server)
    product = busiest([line.product_id for line in lines if line.product_id is not None])
    since = lines[0].date_invoice - timedelta(days=10)
    cases: list[tuple[dict[str, Any], Callable[[InvoiceLine], bool]]] = [
        ({"productId": product}, lambda x: x.is_sales and x.product_id == product),
        ({"productId": product, "includeNonSales": True}, lambda x: x.product_id == product),
        ({"statusId": PREVIEW}, lambda x: x.status_id == PREVIEW),
        ({"statusId": CONFIRMED_ORDER}, lambda x: False),  # a sales-order status matches no invoice
        ({"from": iso(since)}, lambda x: x.is_sales and x.date_invoice >= since),
    ]  # fmt: skip
    for body, wanted in cases:
        expected = [line.line_id for line in lines if wanted(line)]
        assert ids(await walk(rest, pageSize=100, **body)) == expected, body
    assert any(line.status_id == PREVIEW for line in lines), "the demo data has invoice previews"


async def test_the_invoice_date_range_is_inclusive_and_a_date_alone_is_midnight_utc(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = [line for line in invoice_lines(server) if line.is_sales]
    day = lines[len(lines) // 3].date_invoice
    assert day.time() == datetime.min.time(), "invoice dates are midnights"
    on_the_day = [line.line_id for line in lines if line.date_invoice == day]
    date_only = day.date().isoformat()
    assert ids(await walk(rest, pageSize=100, **{"from": date_only, "to": date_only})) == on_the_day
    an_hour_before_in_stockholm = day.strftime("%Y-%m-%dT01:00:00+02:00")
    assert ids(await walk(rest, pageSize=100, **{"from": date_only, "to": an_hour_before_in_stockholm})) == []


async def test_rows_carry_the_line_figures_exactly(server: LiveServer, rest: httpx.AsyncClient) -> None:
    response = await rest.post(PATH, json={"pageSize": 100})
    page = response.json()
    assert set(page["items"][0]) == {
        "invoiceId", "invoiceNumber", "lineId", "productId", "productNumber", "description", "quantity",
        "qtyDelivered", "price", "discount", "sumExVat", "sumIncVat", "dateInvoice", "customerId",
        "customerName", "currencyIsoCode",
        "documentType",  # additive (issue 14)
    }  # fmt: skip
    quantities = {line.line_id: line.qty_ordered for line in invoice_lines(server)}
    for row in page["items"]:
        assert Decimal(str(row["quantity"])) == quantities[row["lineId"]]
        assert row["sumIncVat"] >= row["sumExVat"]
        assert row["dateInvoice"].endswith("Z") and row["currencyIsoCode"]
    for field in ('"price":', '"sumExVat":', '"sumIncVat":'):
        for raw in response.text.split(field)[1:]:
            number = raw.split(",")[0]
            assert len(number.split(".")[1]) == 2, (field, number)


async def test_page_size_defaults_to_fifty_and_is_clamped_to_one_hundred(rest: httpx.AsyncClient) -> None:
    assert (await rest.post(PATH)).json()["pageSizeApplied"] == 50
    clamped = (await rest.post(PATH, json={"pageSize": 1000})).json()
    assert clamped["pageSizeApplied"] == 100 and len(clamped["items"]) == 100


async def test_bad_bodies_are_400_envelopes_naming_the_field(rest: httpx.AsyncClient) -> None:
    customers = (await rest.get("/customers", params={"pageSize": 2})).json()
    for content, named in [
        ('{"customerId": "abc"}', "customerId"),
        ('{"from": "last tuesday"}', "from"),
        ('{"pageSize": 0}', "pageSize"),
        ('{"includeNonSales": [1]}', "includeNonSales"),
        (json.dumps({"cursor": customers["nextCursor"]}), "cursor"),
        ('{"customerId": 1', "JSON"),
        ("[1, 2]", "object"),
    ]:
        response = await rest.post(PATH, content=content, headers={"content-type": "application/json"})
        assert response.status_code == 400, content
        assert response.json()["code"] == "bad_request"
        assert named in response.json()["message"], (content, response.json())


async def test_lines_of_another_tenant_never_appear(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other = invoice_lines(server, "demo-b")
    other_customer = busiest([line.customer_id for line in other])
    assert await walk(rest, customerId=other_customer) == []
    first_page = (await rest.post(PATH, json={"pageSize": 100})).json()["items"]
    assert not {row["lineId"] for row in first_page} & {line.line_id for line in other}


async def test_mcp_returns_the_same_body_as_rest(mcp: ClientSession, rest: httpx.AsyncClient) -> None:
    first = (await rest.post(PATH, json={"pageSize": 3})).json()
    for arguments in (
        {"pageSize": 3},
        {"pageSize": 3, "cursor": first["nextCursor"], "includeNonSales": False},
    ):
        result = await mcp.call_tool("list_sales_invoice_lines", arguments)
        assert not result.is_error
        rest_body = (await rest.post(PATH, json=arguments)).json()
        assert result.structured_content == rest_body
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
