"""Sales orders: ``GET /sales-orders``, the order book (SALESORDER and SALESINVOICE documents)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools.paging import Page, fetch_page, page_of
from tools.reference import SALESINVOICE, SALESORDER
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    NEWEST_ORDER_FIRST,
    DocumentParams,
    company_named,
    currency_coded,
    dated_within,
    free_text,
    has_qty_left_to_deliver,
    has_qty_over_delivered,
    header,
    in_status,
    is_before,
    o,
    open_amount,
    page_request,
    paid_amount,
    within,
)
from tools.wire import Money, QueryDateTime, UtcDateTime, WireModel

StatusKind = Literal["intake", "sales", "any"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"intake": "IsOrderIntake", "sales": "IsSales", "any": None}


class SalesOrderParams(DocumentParams):
    customer_id: int | None = Field(None, description="Only this customer's orders (the customer's id)")
    customer_name: str | None = Field(None, description="Substring of the customer name, any case")
    currency: str | None = Field(None, description="Substring of the order's currency ISO code, e.g. EUR")
    status_id: int | None = Field(
        None,
        description="Exactly this OrderStatus id; replaces statusKind. A non-order status matches nothing",
    )
    status_kind: StatusKind = Field(
        "intake",
        description=(
            "Which statuses count: intake (default, the order book: open and shipped orders), "
            "sales (counts as revenue: sent invoices) or any (every order and invoice status)"
        ),
    )
    order_date_from: QueryDateTime | None = Field(None, description="dateOrder on or after (ISO 8601)")
    order_date_to: QueryDateTime | None = Field(None, description="dateOrder on or before (ISO 8601)")
    delivery_date_from: QueryDateTime | None = Field(None, description="dateDelivery on or after")
    delivery_date_to: QueryDateTime | None = Field(None, description="dateDelivery on or before")
    invoice_date_from: QueryDateTime | None = Field(None, description="dateInvoice on or after")
    invoice_date_to: QueryDateTime | None = Field(None, description="dateInvoice on or before")
    total_min: Decimal | None = Field(None, description="Order total ex VAT at least this")
    total_max: Decimal | None = Field(None, description="Order total ex VAT at most this")
    q: str | None = Field(
        None,
        description="Free text: order id or invoice number (exact), or part of the customer or order name",
    )


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


def _sales_order_filters(conn: sa.Connection, params: SalesOrderParams) -> list[sa.ColumnElement[bool]]:
    where = [in_status((SALESORDER, SALESINVOICE), STATUS_FLAG[params.status_kind], params.status_id)]
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.customer_name:
        where.append(company_named(conn, params.customer_name))
    if params.currency:
        where.append(currency_coded(params.currency))
    where += dated_within(o.c.DateOrder, params.order_date_from, params.order_date_to)
    where += dated_within(o.c.DateDelivery, params.delivery_date_from, params.delivery_date_to)
    where += dated_within(o.c.DateInvoice, params.invoice_date_from, params.invoice_date_to)
    where += within(o.c.TotalExVat, params.total_min, params.total_max)
    if params.q:
        where.append(free_text(conn, params.q, o.c.InvoiceNumber))
    return where


def list_sales_orders(conn: sa.Connection, ctx: ViewContext, params: SalesOrderParams) -> Page[SalesOrderDto]:
    stmt = header().add_columns(
        paid_amount().label("PaidAmount"),
        has_qty_left_to_deliver().label("HasQtyLeftToDeliver"),
        has_qty_over_delivered().label("HasQtyOverDelivered"),
    )
    request = page_request("sales-orders", params, ctx.tenant)
    rows, next_cursor = fetch_page(
        conn, stmt.where(*_sales_order_filters(conn, params)), NEWEST_ORDER_FIRST, request
    )
    return page_of([_sales_order(row._mapping, ctx) for row in rows], next_cursor, request)


def _sales_order(row: Any, ctx: ViewContext) -> SalesOrderDto:
    left_to_deliver = bool(row["HasQtyLeftToDeliver"])
    invoiced_short = row["SystemName"] == SALESINVOICE and left_to_deliver
    unpaid = open_amount(row["TotalIncVat"], row["PaidAmount"])
    return SalesOrderDto(
        id=row["Id"],
        name=row["Name"],
        customer_id=row["CompanyId"],
        customer_name=row["CompanyName"],
        customer_orgno=row["CompanyOrgno"],
        status_id=row["OrderStatusId"],
        status_name=row["StatusName"],
        date_order=row["DateOrder"],
        date_delivery=row["DateDelivery"],
        date_invoice=row["DateInvoice"],
        date_due=row["DateDue"],
        total_ex_vat=row["TotalExVat"],
        total_vat=row["TotalVat"],
        total_inc_vat=row["TotalIncVat"],
        open_amount=unpaid,
        is_late=left_to_deliver and is_before(row["DateDelivery"], ctx.today),
        is_fully_paid=unpaid <= 0,
        has_shipment_discrepancy=bool(row["HasQtyOverDelivered"]) or invoiced_short,
        currency_iso_code=row["CurrencyIsoCode"],
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
            "what is left to deliver per product line. Returns at most pageSize rows (default 50, "
            "max 100); when `truncated` is true, call again with `cursor` set to `nextCursor` and "
            "the same filters. Dates are ISO 8601; a date alone means midnight UTC; ranges "
            "include both ends."
        ),
    )
)
