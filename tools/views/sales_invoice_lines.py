"""Sales invoice lines: ``POST /sales-invoice-lines``, what was sold, line by line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, Paging, SortKey, TrustedPage, read_trusted_page, resume_bound
from tools.planner_hints import looked_up, unindexed_status
from tools.reference import SALESCREDIT
from tools.statuses import Flag, status_ids
from tools.view import View, ViewContext, register
from tools.views._lines import LineParams, lines
from tools.views.sales_invoices import STATUS_TYPES, DocumentType
from tools.wire import Money, Quantity, QueryDateTime, UtcDateTime, WireModel, to_db_datetime

orders, items = s.orders, s.order_items

# Newest invoice first; the lines of one invoice in line-number order.
NEWEST_FIRST = [
    SortKey(orders.c.DateInvoice, descending=True),
    SortKey(orders.c.Id, descending=True),
    SortKey(items.c.LineNo),
    SortKey(items.c.Id),
]


class SalesInvoiceLineParams(LineParams):
    date_from: QueryDateTime | None = Field(
        None, alias="from", description="Invoice date from, inclusive (a date alone means midnight UTC)"
    )
    date_to: QueryDateTime | None = Field(
        None, alias="to", description="Invoice date to, inclusive (a date alone means midnight UTC)"
    )
    status_id: int | None = Field(
        None, description="Only invoices in this exact status; replaces the IsSales filter"
    )
    include_non_sales: bool = Field(
        False, description="Also lines of invoices that do not count as sales (previews, void). Default false"
    )
    document_type: DocumentType = Field(
        "invoice", description="invoice (default), credit (lines of credit notes only) or both"
    )

    def where(self, conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
        where = [self.statuses(conn), orders.c.DateInvoice.is_not(None), *super().where(conn)]
        if self.date_from is not None:
            where.append(orders.c.DateInvoice >= to_db_datetime(self.date_from))
        if self.date_to is not None:
            where.append(orders.c.DateInvoice <= to_db_datetime(self.date_to))
        return where

    def statuses(self, conn: sa.Connection) -> sa.ColumnElement[bool]:
        status, types = orders.c.OrderStatusId, STATUS_TYPES[self.document_type]
        if self.status_id is not None:
            return sa.and_(status == self.status_id, status.in_(status_ids(*types)))
        flag: Flag | None = None if self.include_non_sales else "IsSales"
        return unindexed_status(conn, status).in_(status_ids(*types, flag=flag))


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
    document_type: Literal["invoice", "credit"] = Field(
        description="credit: a line of a credit note (negative price and sums)"
    )


def list_sales_invoice_lines(
    conn: sa.Connection, ctx: ViewContext, params: SalesInvoiceLineParams
) -> TrustedPage[SalesInvoiceLineDto]:
    stmt = lines(
        orders.c.Id.label("invoice_id"),
        orders.c.InvoiceNumber.label("invoice_number"),
        items.c.Price.label("price"),
        items.c.Discount.label("discount"),
        items.c.SumExVat.label("sum_ex_vat"),
        items.c.SumIncVat.label("sum_inc_vat"),
        orders.c.DateInvoice.label("date_invoice"),
        looked_up(s.currencies.c.IsoCode, orders.c.CurrencyId).label("currency_iso_code"),
        sa.case((orders.c.OrderStatusId.in_(status_ids(SALESCREDIT)), "credit"), else_="invoice").label(
            "document_type"
        ),
    )
    where = [*params.where(conn), *resume_bound(ctx.page, NEWEST_FIRST, 2)]
    return read_trusted_page(
        conn, stmt.where(*where), NEWEST_FIRST, ctx.page, SalesInvoiceLineDto, _invoice_line
    )


def _invoice_line(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "quantity": row["qty_ordered"]}


register(
    View(
        name="sales-invoice-lines",
        tool="list_sales_invoice_lines",
        method="POST",
        path="/sales-invoice-lines",
        params=SalesInvoiceLineParams,
        result=Page[SalesInvoiceLineDto],
        query=list_sales_invoice_lines,
        paging=Paging(default=50, maximum=100),
        title="List sales invoice lines",
        description=(
            "What was sold, line by line: the lines of sales invoices. By default only invoices "
            "that count as revenue (statuses flagged IsSales; previews and void invoices left "
            "out); `includeNonSales` adds them, `statusId` pins one exact invoice status instead. "
            "Credit notes only with `documentType=credit` (or `both`; their lines carry negative prices "
            "and sums, so `both` nets out). `from`/`to` bound the invoice date (inclusive; a date "
            "alone means midnight UTC); `customerId` and `productId` (resolve it with "
            "find_products) narrow further. `quantity` is the quantity on the line; money is in "
            "each row's `currencyIsoCode`. Sorted newest invoice first (dateInvoice descending, "
            "then invoice id descending), lines of one invoice in line order. Use it for sales "
            "per product or customer; use list_sales_invoices for invoice headers, totals and "
            "payment state."
        ),
    )
)
