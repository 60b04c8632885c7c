"""Sales orders: ``GET /sales-orders``, the order book (SALESORDER and SALESINVOICE documents)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools.paging import Page, Paging, TrustedPage, read_trusted_page
from tools.reference import SALESINVOICE, SALESORDER
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    NEWEST_ORDER_FIRST,
    CustomerFilter,
    InvoiceDates,
    OrderDates,
    Totals,
    document_values,
    has_qty_left_to_deliver,
    has_qty_over_delivered,
    header,
    in_status,
    is_before,
    paid_amount,
    payment_state,
    statement_key,
    text_apart,
)
from tools.wire import Money, UtcDateTime, WireModel

StatusKind = Literal["intake", "sales", "any"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"intake": "IsOrderIntake", "sales": "IsSales", "any": None}


class SalesOrderParams(CustomerFilter, OrderDates, InvoiceDates, Totals):
    status_kind: StatusKind = Field(
        "intake",
        description=(
            "Which statuses count: intake (default, the order book: open and shipped orders), "
            "sales (counts as revenue: sent invoices) or any (every order and invoice status)"
        ),
    )
    q: str | None = Field(
        None,
        description="Free text: order id or invoice number (exact), or part of the customer or order name",
    )

    def statuses(self, conn: sa.Connection) -> sa.ColumnElement[bool]:
        return in_status(conn, (SALESORDER, SALESINVOICE), STATUS_FLAG[self.status_kind], self.status_id)


class SalesOrderDto(WireModel):
    id: int
    name: str | None
    customer_id: int
    customer_name: str
    customer_orgno: str | None
    status_id: int
    status_name: str
    date_order: UtcDateTime
    date_delivery: UtcDateTime
    date_invoice: UtcDateTime | None
    date_due: UtcDateTime | None
    total_ex_vat: Money
    total_vat: Money
    total_inc_vat: Money
    open_amount: Money = Field(description="totalIncVat minus the payments received")
    is_late: bool = Field(description="Something is left to deliver and dateDelivery has passed")
    is_fully_paid: bool = Field(description="openAmount is zero or less")
    has_shipment_discrepancy: bool = Field(
        description="A line was delivered beyond its ordered qty, or the order is invoiced short"
    )
    currency_iso_code: str


def list_sales_orders(
    conn: sa.Connection, ctx: ViewContext, params: SalesOrderParams
) -> TrustedPage[SalesOrderDto]:
    built, text = text_apart(conn, params)

    def statement() -> sa.Select[Any]:
        stmt = header("customer").add_columns(
            paid_amount().label("paid_amount"),
            has_qty_left_to_deliver().label("has_qty_left_to_deliver"),
            has_qty_over_delivered().label("has_qty_over_delivered"),
        )
        return stmt.where(*built.where(conn))

    return read_trusted_page(
        conn,
        statement,
        NEWEST_ORDER_FIRST,
        ctx.page,
        SalesOrderDto,
        lambda row: _sales_order(row, ctx),
        statement_key(conn, "sales-orders", built),
        text,
    )


def _sales_order(row: Mapping[str, Any], ctx: ViewContext) -> dict[str, Any]:
    left_to_deliver = bool(row["has_qty_left_to_deliver"])
    invoiced_short = row["status_type"] == SALESINVOICE and left_to_deliver
    return document_values(
        row,
        **payment_state(row),
        is_late=left_to_deliver and is_before(row["date_delivery"], ctx.today),
        has_shipment_discrepancy=bool(row["has_qty_over_delivered"]) or invoiced_short,
    )


register(
    View(
        name="sales-orders",
        tool="list_sales_orders",
        method="GET",
        path="/sales-orders",
        params=SalesOrderParams,
        result=Page[SalesOrderDto],
        query=list_sales_orders,
        paging=Paging(default=50, maximum=100),
        title="List sales orders (the order book)",
        description=(
            "List sales order headers, newest order date first (then id). By default the order "
            "book (statusKind=intake): every order that counts as order intake, both those still "
            "to be delivered and those already shipped and invoiced, so it includes shipped "
            "orders; quotes, preliminary and void orders are left out. statusKind=sales keeps only "
            "orders whose invoice counts as revenue; statusKind=any drops the status filter; "
            "statusId pins one exact status instead. Each row has the customer, status, dates, "
            "totals ex/inc VAT, openAmount (inc VAT minus payments), isLate (something left to "
            "deliver past dateDelivery) and hasShipmentDiscrepancy. Use list_sales_invoices for "
            "billing (invoice and due dates, payments, credit notes) and list_open_order_lines for "
            "what is left to deliver per product line. Dates are ISO 8601; a date alone means "
            "midnight UTC; ranges include both ends."
        ),
    )
)
