"""Open order lines through both doors, against seeded SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer, walk
from tools import schema as s
from tools.reference import SALESORDER

PATH = "/open-order-lines"


@dataclass(frozen=True)
class OrderLine:
    order_id: int
    line_id: int
    line_no: int
    date_delivery: datetime
    customer_id: int
    product_id: int | None
    qty_ordered: Decimal
    qty_delivered: Decimal

    @property
    def is_open(self) -> bool:
        return self.qty_delivered < self.qty_ordered


def order_book_lines(server: LiveServer, tenant: str = "demo") -> list[OrderLine]:
    """Lines of SALESORDER documents with IsOrderIntake, most urgent first, from the raw rows."""
    o, i, st, t = s.orders, s.order_items, s.order_statuses, s.order_status_types
    stmt = (
        sa.select(
            o.c.Id, i.c.Id, i.c.LineNo, o.c.DateDelivery, o.c.CompanyId, i.c.ProductId,
            i.c.QtyOrdered, i.c.QtyDelivered,
        )
        .join(i, i.c.OrderId == o.c.Id)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(t, t.c.Id == st.c.OrderStatusTypeId)
        .where(t.c.SystemName == SALESORDER, st.c.IsOrderIntake.is_(True))
    )  # fmt: skip
    with sa.create_engine(server.settings.tenants[tenant]).connect() as conn:
        lines = [OrderLine(*row) for row in conn.execute(stmt)]
    return sorted(lines, key=lambda x: (x.date_delivery, x.order_id, x.line_no, x.line_id))


def stocked_products(server: LiveServer) -> tuple[int, set[int]]:
    """The first warehouse and the products stocked in it."""
    stock = s.product_stock
    with sa.create_engine(server.settings.tenants["demo"]).connect() as conn:
        warehouse = conn.scalar(sa.select(sa.func.min(stock.c.WarehouseId)))
        assert warehouse is not None
        stmt = sa.select(stock.c.ProductId).where(stock.c.WarehouseId == warehouse)
        return warehouse, set(conn.scalars(stmt))


def busiest(values: list[Any]) -> Any:
    return max(set(values), key=values.count)


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["lineId"] for row in rows]


async def test_open_lines_come_most_urgent_first_each_exactly_once(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, PATH, pageSize=100)
    assert ids(rows) == [line.line_id for line in order_book_lines(server) if line.is_open]
    assert len(rows) > 100
    for row in rows:
        assert row["qtyLeftToDeliver"] == row["qtyOrdered"] - row["qtyDelivered"] > 0
        assert row["dateDelivery"].endswith("Z") and row["dateOrder"].endswith("Z")


async def test_each_filter_narrows_to_the_lines_the_raw_rows_give(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = order_book_lines(server)
    customer = busiest([line.customer_id for line in lines if line.is_open])
    product = busiest([line.product_id for line in lines if line.is_open and line.product_id])
    warehouse, stocked = stocked_products(server)
    everything = {"includeFullyDelivered": "true", "pageSize": 5}
    cases: list[tuple[dict[str, Any], Callable[[OrderLine], bool]]] = [
        ({"customerId": customer, "pageSize": 3}, lambda x: x.is_open and x.customer_id == customer),
        ({"productId": product, "pageSize": 2}, lambda x: x.is_open and x.product_id == product),
        ({"warehouseId": warehouse, "pageSize": 100}, lambda x: x.is_open and x.product_id in stocked),
        (everything | {"customerId": customer}, lambda x: x.customer_id == customer),
    ]  # fmt: skip
    for params, wanted in cases:
        expected = [line.line_id for line in lines if wanted(line)]
        assert expected, params
        assert ids(await walk(rest, PATH, **params)) == expected, params


async def test_fully_delivered_lines_appear_only_when_asked(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = order_book_lines(server)
    customer = busiest([line.customer_id for line in lines if not line.is_open])
    rows = await walk(rest, PATH, customerId=customer, includeFullyDelivered="true", pageSize=100)
    assert any(row["qtyLeftToDeliver"] <= 0 for row in rows)
    assert all(row["qtyLeftToDeliver"] == row["qtyOrdered"] - row["qtyDelivered"] for row in rows)


async def test_rows_have_every_field_of_the_seed(rest: httpx.AsyncClient) -> None:
    page = (await rest.get(PATH)).json()
    assert page["pageSizeApplied"] == 50
    assert set(page["items"][0]) == {
        "orderId", "orderName", "lineId", "productId", "productNumber", "description", "qtyOrdered",
        "qtyDelivered", "qtyLeftToDeliver", "dateOrder", "dateDelivery", "customerId", "customerName",
        "statusId", "statusName",
        "isLate", "openValueExVat", "currencyIsoCode",  # additive (issue 14)
    }  # fmt: skip


async def test_page_size_is_clamped_and_bad_parameters_are_400(rest: httpx.AsyncClient) -> None:
    clamped = (await rest.get(PATH, params={"pageSize": 1000})).json()
    assert clamped["pageSizeApplied"] == 100 and len(clamped["items"]) == 100
    stock_cursor = (await rest.get("/warehouse-stock", params={"pageSize": 1})).json()["nextCursor"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"pageSize": 0}, "pageSize"),
        ({"customerId": "acme"}, "customerId"),
        ({"includeFullyDelivered": "perhaps"}, "includeFullyDelivered"),
        ({"cursor": stock_cursor}, "cursor"),
    ]
    for params, named in bad:
        response = await rest.get(PATH, params=params)
        assert response.status_code == 400, params
        assert named in response.json()["message"]


async def test_lines_of_another_tenant_never_appear(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other = order_book_lines(server, "demo-b")
    assert await walk(rest, PATH, customerId=busiest([line.customer_id for line in other])) == []
    first_page = (await rest.get(PATH, params={"pageSize": 100})).json()["items"]
    assert not {row["lineId"] for row in first_page} & {line.line_id for line in other}


async def test_mcp_returns_the_same_body_as_rest(mcp: ClientSession, rest: httpx.AsyncClient) -> None:
    first = (await rest.get(PATH, params={"pageSize": 4})).json()
    calls: list[dict[str, Any]] = [{"pageSize": 4}, {"pageSize": 4, "cursor": first["nextCursor"]}]
    for arguments in calls:
        result = await mcp.call_tool("list_open_order_lines", arguments)
        assert not result.is_error
        rest_body = (await rest.get(PATH, params=arguments)).json()
        assert result.structured_content == rest_body
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
