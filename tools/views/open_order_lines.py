"""Open order lines: ``GET /open-order-lines``, sales order lines still to be delivered."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, Paging, SortKey, TrustedPage, read_trusted_page, resume_bound
from tools.planner_hints import looked_up, unindexed_status
from tools.reference import SALESORDER
from tools.statuses import status_ids
from tools.view import View, ViewContext, register
from tools.views._documents import is_before
from tools.views._lines import LineParams, lines
from tools.wire import Money, Quantity, UtcDateTime, WireModel, midnight

orders, items = s.orders, s.order_items
CENT = Decimal("0.01")

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
    is_late: bool | None = Field(
        None,
        description="true: only lines still to deliver whose promised dateDelivery is before today; "
        "false: only the others",
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

    def lateness(self, today: date) -> list[sa.ColumnElement[bool]]:
        """Late lines lead the delivery-date order, so the filter is a range of its index."""
        if self.is_late is None:
            return []
        past, on_time = orders.c.DateDelivery < midnight(today), orders.c.DateDelivery >= midnight(today)
        if not self.include_fully_delivered:  # every line here has qty left to deliver
            return [past if self.is_late else on_time]
        left = items.c.QtyDelivered < items.c.QtyOrdered
        return [sa.and_(past, left) if self.is_late else sa.or_(on_time, sa.not_(left))]


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
    is_late: bool = Field(description="Something is left to deliver and dateDelivery is before today")
    open_value_ex_vat: Money = Field(
        description="What is left to deliver at the line's price after discount, ex VAT, in currencyIsoCode"
    )
    currency_iso_code: str


def list_open_order_lines(
    conn: sa.Connection, ctx: ViewContext, params: OpenOrderLineParams
) -> TrustedPage[OpenOrderLineDto]:
    statuses = s.order_statuses
    stmt = lines(
        orders.c.Id.label("order_id"),
        orders.c.Name.label("order_name"),
        orders.c.DateOrder.label("date_order"),
        orders.c.DateDelivery.label("date_delivery"),
        orders.c.OrderStatusId.label("status_id"),
        looked_up(statuses.c.Name, orders.c.OrderStatusId).label("status_name"),
        items.c.Price.label("price"),
        items.c.Discount.label("discount"),
        looked_up(s.currencies.c.IsoCode, orders.c.CurrencyId).label("currency_iso_code"),
    )
    where = [*params.where(conn), *params.lateness(ctx.today), *resume_bound(ctx.page, MOST_URGENT_FIRST, 2)]
    return read_trusted_page(
        conn,
        stmt.where(*where),
        MOST_URGENT_FIRST,
        ctx.page,
        OpenOrderLineDto,
        lambda row: _open_line(row, ctx),
    )


def _open_line(row: Mapping[str, Any], ctx: ViewContext) -> dict[str, Any]:
    left = Decimal(row["qty_ordered"]) - Decimal(row["qty_delivered"])
    net_price = Decimal(row["price"]) * (100 - Decimal(row["discount"])) / 100
    return {
        **row,
        "qty_left_to_deliver": left,
        "is_late": left > 0 and is_before(row["date_delivery"], ctx.today),
        "open_value_ex_vat": (max(left, Decimal(0)) * net_price).quantize(CENT, ROUND_HALF_UP),
    }


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
            "ascending, then order id, then line number, so late lines come first; `isLate=true` "
            "keeps only lines whose promised date has passed. Each line carries `openValueExVat` "
            "(qty left x price after discount, in `currencyIsoCode`). Use this for what is left to ship per "
            "line; use list_sales_orders for order headers and totals."
        ),
    )
)
