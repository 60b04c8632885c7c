"""Sales invoice lines: ``POST /sales-invoice-lines``, what was sold, line by line."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, PageRequest, SortKey, fetch_page, page_of, resume_bound
from tools.planning import looked_up, unindexed_status
from tools.reference import SALESINVOICE
from tools.statuses import status_ids
from tools.view import View, ViewContext, register
from tools.wire import Money, Params, Quantity, QueryDateTime, UtcDateTime, WireModel, to_db_datetime

o, i, c, p, cur = s.orders, s.order_items, s.companies, s.products, s.currencies

# Newest invoice first; the lines of one invoice in line-number order.
NEWEST_FIRST = [
    SortKey(o.c.DateInvoice, descending=True),
    SortKey(o.c.Id, descending=True),
    SortKey(i.c.LineNo),
    SortKey(i.c.Id),
]


class SalesInvoiceLineParams(Params):
    date_from: QueryDateTime | None = Field(
        None, alias="from", description="Invoice date from, inclusive (a date alone means midnight UTC)"
    )
    date_to: QueryDateTime | None = Field(
        None, alias="to", description="Invoice date to, inclusive (a date alone means midnight UTC)"
    )
    customer_id: int | None = Field(None, description="Only invoices to this customer")
    product_id: int | None = Field(
        None, description="Only lines of this product (find its id with find_products)"
    )
    status_id: int | None = Field(
        None, description="Only invoices in this exact status; replaces the IsSales filter"
    )
    include_non_sales: bool = Field(
        False, description="Also lines of invoices that do not count as sales (previews, void). Default false"
    )
    cursor: str | None = Field(None, description="nextCursor of the previous page")
    page_size: int = Field(50, ge=1, description="Rows per page. Default 50, max 100 (larger is clamped)")


class SalesInvoiceLineDto(WireModel):
    invoice_id: int
    invoice_number: int | None
    line_id: int
    product_id: int | None
    product_number: str | None
    description: str
    quantity: Quantity = Field(description="Quantity ordered on the line")
    qty_delivered: Quantity
    price: Money = Field(description="Unit price before discount, in currencyIsoCode")
    discount: Quantity = Field(description="Discount in percent")
    sum_ex_vat: Money
    sum_inc_vat: Money
    date_invoice: UtcDateTime
    customer_id: int
    customer_name: str
    currency_iso_code: str


def _invoice_statuses(conn: sa.Connection, params: SalesInvoiceLineParams) -> sa.ColumnElement[bool]:
    if params.status_id is not None:
        return sa.and_(o.c.OrderStatusId == params.status_id, o.c.OrderStatusId.in_(status_ids(SALESINVOICE)))
    statuses = (
        status_ids(SALESINVOICE) if params.include_non_sales else status_ids(SALESINVOICE, flag="IsSales")
    )
    return unindexed_status(conn, o.c.OrderStatusId).in_(statuses)


def _line_filters(conn: sa.Connection, params: SalesInvoiceLineParams) -> list[sa.ColumnElement[bool]]:
    where = [_invoice_statuses(conn, params), o.c.DateInvoice.is_not(None)]
    if params.date_from is not None:
        where.append(o.c.DateInvoice >= to_db_datetime(params.date_from))
    if params.date_to is not None:
        where.append(o.c.DateInvoice <= to_db_datetime(params.date_to))
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.product_id is not None:
        where.append(i.c.ProductId == params.product_id)
    return where


def list_sales_invoice_lines(
    conn: sa.Connection, ctx: ViewContext, params: SalesInvoiceLineParams
) -> Page[SalesInvoiceLineDto]:
    stmt = (
        sa.select(
            o.c.Id.label("InvoiceId"),
            o.c.InvoiceNumber,
            i.c.Id.label("LineId"),
            i.c.ProductId,
            looked_up(p.c.ProductNumber, i.c.ProductId).label("ProductNumber"),
            i.c.Description,
            i.c.QtyOrdered,
            i.c.QtyDelivered,
            i.c.Price,
            i.c.Discount,
            i.c.SumExVat,
            i.c.SumIncVat,
            o.c.DateInvoice,
            o.c.CompanyId,
            looked_up(c.c.Name, o.c.CompanyId).label("CustomerName"),
            looked_up(cur.c.IsoCode, o.c.CurrencyId).label("IsoCode"),
        )
        .select_from(o)
        .join(i, i.c.OrderId == o.c.Id)
    )
    request = PageRequest.of("sales-invoice-lines", params, 100, ctx.tenant)
    where = _line_filters(conn, params) + resume_bound(request, NEWEST_FIRST, 2)
    rows, next_cursor = fetch_page(conn, stmt.where(*where), NEWEST_FIRST, request)
    return page_of([_invoice_line(row._mapping) for row in rows], next_cursor, request)


def _invoice_line(row: Any) -> SalesInvoiceLineDto:
    return SalesInvoiceLineDto(
        invoice_id=row["InvoiceId"],
        invoice_number=row["InvoiceNumber"],
        line_id=row["LineId"],
        product_id=row["ProductId"],
        product_number=row["ProductNumber"],
        description=row["Description"],
        quantity=row["QtyOrdered"],
        qty_delivered=row["QtyDelivered"],
        price=row["Price"],
        discount=row["Discount"],
        sum_ex_vat=row["SumExVat"],
        sum_inc_vat=row["SumIncVat"],
        date_invoice=row["DateInvoice"],
        customer_id=row["CompanyId"],
        customer_name=row["CustomerName"],
        currency_iso_code=row["IsoCode"],
    )


register(
    View(
        name="sales-invoice-lines",
        tool="list_sales_invoice_lines",
        method="POST",
        path="/sales-invoice-lines",
        params=SalesInvoiceLineParams,
        result=Page[SalesInvoiceLineDto],
        query=list_sales_invoice_lines,
        title="List sales invoice lines",
        description=(
            "What was sold, line by line: the lines of sales invoices. By default only invoices "
            "that count as revenue (statuses flagged IsSales; previews and void invoices left "
            "out); `includeNonSales` adds them, `statusId` pins one exact invoice status instead. "
            "Credit notes are not included. `from`/`to` bound the invoice date (inclusive; a date "
            "alone means midnight UTC); `customerId` and `productId` (resolve it with "
            "find_products) narrow further. `quantity` is the quantity on the line; money is in "
            "each row's `currencyIsoCode`. Sorted newest invoice first (dateInvoice descending, "
            "then invoice id descending), lines of one invoice in line order. Use it for sales "
            "per product or customer; use list_sales_invoices for invoice headers, totals and "
            "payment state. Returns a page of at most `pageSize` rows (default 50, max 100); when "
            "`truncated` is true, call again with the same filters and `cursor` set to "
            "`nextCursor`."
        ),
    )
)
