"""Open order lines: ``GET /open-order-lines``, sales order lines still to be delivered."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, Paging, SortKey, read_page, resume_bound
from tools.planner_hints import looked_up, unindexed_status
from tools.reference import SALESORDER
from tools.statuses import status_ids
from tools.view import View, ViewContext, register
from tools.views._lines import LineParams, lines
from tools.wire import Quantity, UtcDateTime, WireModel

orders, items = s.orders, s.order_items

# Most urgent first. Lines of one order follow their line numbers, which
# ix_order_item_order (OrderId, LineNo) delivers for each order.
MOST_URGENT_FIRST = [
    SortKey(orders.c.DateDelivery),
    SortKey(orders.c.Id),
    SortKey(items.c.LineNo),
    SortKey(items.c.Id),
]


class OpenOrderLineParams(LineParams):
    warehouse_id: int | None = Field(None, description="Only lines on products stocked in this warehouse")
    include_fully_delivered: bool = Field(
        False, description="Also return lines already delivered in full. Default false"
    )

    def where(self, conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
        intake = status_ids(SALESORDER, flag="IsOrderIntake")
        where = [unindexed_status(conn, orders.c.OrderStatusId).in_(intake), *super().where(conn)]
        if not self.include_fully_delivered:
            where.append(items.c.QtyDelivered < items.c.QtyOrdered)
        if self.warehouse_id is not None:
            stock = s.product_stock
            stocked = sa.exists().where(
                stock.c.ProductId == items.c.ProductId, stock.c.WarehouseId == self.warehouse_id
            )
            where.append(stocked)
        return where


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


def list_open_order_lines(
    conn: sa.Connection, ctx: ViewContext, params: OpenOrderLineParams
) -> Page[OpenOrderLineDto]:
    statuses = s.order_statuses
    stmt = lines(
        orders.c.Id.label("order_id"),
        orders.c.Name.label("order_name"),
        orders.c.DateOrder.label("date_order"),
        orders.c.DateDelivery.label("date_delivery"),
        orders.c.OrderStatusId.label("status_id"),
        looked_up(statuses.c.Name, orders.c.OrderStatusId).label("status_name"),
    )
    where = [*params.where(conn), *resume_bound(ctx.page, MOST_URGENT_FIRST, 2)]
    return read_page(conn, stmt.where(*where), MOST_URGENT_FIRST, ctx.page, _open_line)


def _open_line(row: sa.RowMapping) -> OpenOrderLineDto:
    left = row["qty_ordered"] - row["qty_delivered"]
    return OpenOrderLineDto.model_validate({**row, "qty_left_to_deliver": left})


register(
    View(
        name="open-order-lines",
        tool="list_open_order_lines",
        method="GET",
        path="/open-order-lines",
        params=OpenOrderLineParams,
        result=Page[OpenOrderLineDto],
        query=list_open_order_lines,
        paging=Paging(default=50, maximum=100),
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
            "line; use list_sales_orders for order headers and totals."
        ),
    )
)
