"""Open order lines: ``GET /open-order-lines``, sales order lines still to be delivered."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, PageRequest, SortKey, fetch_page, page_of, resume_bound
from tools.planning import looked_up, unindexed_status
from tools.reference import SALESORDER
from tools.statuses import status_ids
from tools.view import View, ViewContext, register
from tools.wire import Params, Quantity, UtcDateTime, WireModel

o, i, c, p, st = s.orders, s.order_items, s.companies, s.products, s.order_statuses

# Most urgent first. Lines of one order follow their line numbers, which
# ix_order_item_order (OrderId, LineNo) delivers for each order.
MOST_URGENT_FIRST = [SortKey(o.c.DateDelivery), SortKey(o.c.Id), SortKey(i.c.LineNo), SortKey(i.c.Id)]


class OpenOrderLineParams(Params):
    customer_id: int | None = Field(None, description="Only lines of this customer's orders")
    product_id: int | None = Field(
        None, description="Only lines of this product (find its id with find_products)"
    )
    warehouse_id: int | None = Field(None, description="Only lines on products stocked in this warehouse")
    include_fully_delivered: bool = Field(
        False, description="Also return lines already delivered in full. Default false"
    )
    cursor: str | None = Field(None, description="nextCursor of the previous page")
    page_size: int = Field(50, ge=1, description="Rows per page. Default 50, max 100 (larger is clamped)")


class OpenOrderLineDto(WireModel):
    order_id: int
    order_name: str | None
    line_id: int
    product_id: int | None
    product_number: str | None
    description: str
    qty_ordered: Quantity
    qty_delivered: Quantity
    qty_left_to_deliver: Quantity = Field(description="qtyOrdered - qtyDelivered")
    date_order: UtcDateTime
    date_delivery: UtcDateTime = Field(description="Promised delivery date")
    customer_id: int
    customer_name: str
    status_id: int
    status_name: str


def _line_filters(conn: sa.Connection, params: OpenOrderLineParams) -> list[sa.ColumnElement[bool]]:
    intake = status_ids(SALESORDER, flag="IsOrderIntake")
    where: list[sa.ColumnElement[bool]] = [unindexed_status(conn, o.c.OrderStatusId).in_(intake)]
    if not params.include_fully_delivered:
        where.append(i.c.QtyDelivered < i.c.QtyOrdered)
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.product_id is not None:
        where.append(i.c.ProductId == params.product_id)
    if params.warehouse_id is not None:
        stock = s.product_stock
        where.append(
            sa.exists().where(stock.c.ProductId == i.c.ProductId, stock.c.WarehouseId == params.warehouse_id)
        )
    return where


def list_open_order_lines(
    conn: sa.Connection, ctx: ViewContext, params: OpenOrderLineParams
) -> Page[OpenOrderLineDto]:
    stmt = (
        sa.select(
            o.c.Id.label("OrderId"),
            o.c.Name.label("OrderName"),
            i.c.Id.label("LineId"),
            i.c.ProductId,
            looked_up(p.c.ProductNumber, i.c.ProductId).label("ProductNumber"),
            i.c.Description,
            i.c.QtyOrdered,
            i.c.QtyDelivered,
            o.c.DateOrder,
            o.c.DateDelivery,
            o.c.CompanyId,
            looked_up(c.c.Name, o.c.CompanyId).label("CustomerName"),
            o.c.OrderStatusId,
            looked_up(st.c.Name, o.c.OrderStatusId).label("StatusName"),
        )
        .select_from(o)
        .join(i, i.c.OrderId == o.c.Id)
    )
    request = PageRequest.of("open-order-lines", params, 100, ctx.tenant)
    where = _line_filters(conn, params) + resume_bound(request, MOST_URGENT_FIRST, 2)
    rows, next_cursor = fetch_page(conn, stmt.where(*where), MOST_URGENT_FIRST, request)
    return page_of([_open_line(row._mapping) for row in rows], next_cursor, request)


def _open_line(row: Any) -> OpenOrderLineDto:
    return OpenOrderLineDto(
        order_id=row["OrderId"],
        order_name=row["OrderName"],
        line_id=row["LineId"],
        product_id=row["ProductId"],
        product_number=row["ProductNumber"],
        description=row["Description"],
        qty_ordered=row["QtyOrdered"],
        qty_delivered=row["QtyDelivered"],
        qty_left_to_deliver=row["QtyOrdered"] - row["QtyDelivered"],
        date_order=row["DateOrder"],
        date_delivery=row["DateDelivery"],
        customer_id=row["CompanyId"],
        customer_name=row["CustomerName"],
        status_id=row["OrderStatusId"],
        status_name=row["StatusName"],
    )


register(
    View(
        name="open-order-lines",
        tool="list_open_order_lines",
        method="GET",
        path="/open-order-lines",
        params=OpenOrderLineParams,
        result=Page[OpenOrderLineDto],
        query=list_open_order_lines,
        title="List open sales order lines",
        description=(
            "Sales order lines that customers are still waiting for: lines of sales orders in the "
            "order book (statuses flagged IsOrderIntake; quotes, drafts and void orders are left "
            "out) whose delivered quantity is below the ordered quantity, with `qtyLeftToDeliver` "
            "= qtyOrdered - qtyDelivered. Invoiced orders never appear. Set "
            "`includeFullyDelivered` to also get lines already delivered in full. Filter by "
            "`customerId`, `productId` (resolve it with find_products) or `warehouseId` (lines on "
            "products stocked in that warehouse). Sorted most urgent first: promised delivery date "
            "ascending, then order id, then line number. Use this for what is left to ship per "
            "line; use list_sales_orders for order headers and totals. Returns a page of at most "
            "`pageSize` rows (default 50, max 100); when `truncated` is true, call again with "
            "`cursor` set to `nextCursor`."
        ),
    )
)
