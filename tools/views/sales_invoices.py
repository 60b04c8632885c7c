"""Sales invoices: ``GET /sales-invoices``, SALESINVOICE documents and, when asked, credit notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools.paging import Page, fetch_page, page_of
from tools.reference import SALESCREDIT, SALESINVOICE
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    NEWEST_INVOICE_FIRST,
    DocumentParams,
    company_named,
    currency_coded,
    dated_within,
    free_text,
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

StatusKind = Literal["sales", "any"]
DocumentType = Literal["invoice", "credit", "both"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"sales": "IsSales", "any": None}
STATUS_TYPES: dict[DocumentType, tuple[str, ...]] = {
    "invoice": (SALESINVOICE,),
    "credit": (SALESCREDIT,),
    "both": (SALESINVOICE, SALESCREDIT),
}


class SalesInvoiceParams(DocumentParams):
    customer_id: int | None = Field(None, description="Only this customer's invoices (the customer's id)")
    customer_name: str | None = Field(None, description="Substring of the customer name, any case")
    currency: str | None = Field(None, description="Substring of the invoice's currency ISO code, e.g. EUR")
    status_id: int | None = Field(
        None,
        description="Exactly this OrderStatus id; replaces statusKind. Another type's status matches nothing",
    )
    status_kind: StatusKind = Field(
        "sales",
        description="Which statuses count: sales (default, counts as revenue: no previews or void) or any",
    )
    document_type: DocumentType = Field(
        "invoice", description="invoice (default), credit (credit notes only) or both"
    )
    invoice_date_from: QueryDateTime | None = Field(None, description="dateInvoice on or after (ISO 8601)")
    invoice_date_to: QueryDateTime | None = Field(None, description="dateInvoice on or before (ISO 8601)")
    due_date_from: QueryDateTime | None = Field(None, description="dateDue on or after")
    due_date_to: QueryDateTime | None = Field(None, description="dateDue on or before")
    total_min: Decimal | None = Field(None, description="Total ex VAT at least this (credits are negative)")
    total_max: Decimal | None = Field(None, description="Total ex VAT at most this")
    q: str | None = Field(
        None,
        description="Free text: the id or invoice number exactly, or part of the customer or document name",
    )


class SalesInvoiceDto(WireModel):
    id: int
    invoice_number: int | None
    customer_id: int
    customer_name: str
    customer_orgno: str | None
    status_id: int
    status_name: str
    date_invoice: UtcDateTime
    date_due: UtcDateTime | None
    date_order: UtcDateTime
    total_ex_vat: Money
    total_vat: Money
    total_inc_vat: Money
    open_amount: Money = Field(description="totalIncVat minus paidAmount")
    paid_amount: Money = Field(description="Sum of the payments received")
    is_late: bool = Field(description="Something is still to be paid and dateDue has passed")
    is_fully_paid: bool = Field(description="openAmount is zero or less")
    currency_iso_code: str
    document_type: Literal["invoice", "credit"]


def _sales_invoice_filters(conn: sa.Connection, params: SalesInvoiceParams) -> list[sa.ColumnElement[bool]]:
    types = STATUS_TYPES[params.document_type]
    where = [
        in_status(types, STATUS_FLAG[params.status_kind], params.status_id),
        # Undated documents cannot take a place in the invoice-date order (issued ones are dated).
        o.c.DateInvoice.is_not(None),
    ]
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.customer_name:
        where.append(company_named(conn, params.customer_name))
    if params.currency:
        where.append(currency_coded(params.currency))
    where += dated_within(o.c.DateInvoice, params.invoice_date_from, params.invoice_date_to)
    where += dated_within(o.c.DateDue, params.due_date_from, params.due_date_to)
    where += within(o.c.TotalExVat, params.total_min, params.total_max)
    if params.q:
        where.append(free_text(conn, params.q, o.c.InvoiceNumber))
    return where


def list_sales_invoices(
    conn: sa.Connection, ctx: ViewContext, params: SalesInvoiceParams
) -> Page[SalesInvoiceDto]:
    stmt = header().add_columns(o.c.InvoiceNumber, paid_amount().label("PaidAmount"))
    request = page_request("sales-invoices", params, ctx.tenant)
    where = _sales_invoice_filters(conn, params)
    rows, next_cursor = fetch_page(conn, stmt.where(*where), NEWEST_INVOICE_FIRST, request)
    return page_of([_sales_invoice(row._mapping, ctx) for row in rows], next_cursor, request)


def _sales_invoice(row: Any, ctx: ViewContext) -> SalesInvoiceDto:
    unpaid = open_amount(row["TotalIncVat"], row["PaidAmount"])
    return SalesInvoiceDto(
        id=row["Id"],
        invoice_number=row["InvoiceNumber"],
        customer_id=row["CompanyId"],
        customer_name=row["CompanyName"],
        customer_orgno=row["CompanyOrgno"],
        status_id=row["OrderStatusId"],
        status_name=row["StatusName"],
        date_invoice=row["DateInvoice"],
        date_due=row["DateDue"],
        date_order=row["DateOrder"],
        total_ex_vat=row["TotalExVat"],
        total_vat=row["TotalVat"],
        total_inc_vat=row["TotalIncVat"],
        open_amount=unpaid,
        paid_amount=row["PaidAmount"],
        is_late=unpaid > 0 and is_before(row["DateDue"], ctx.today),
        is_fully_paid=unpaid <= 0,
        currency_iso_code=row["CurrencyIsoCode"],
        document_type="credit" if row["SystemName"] == SALESCREDIT else "invoice",
    )


register(
    View(
        name="sales-invoices",
        tool="list_sales_invoices",
        method="GET",
        path="/sales-invoices",
        params=SalesInvoiceParams,
        result=Page[SalesInvoiceDto],
        query=list_sales_invoices,
        title="List sales invoices and credit notes",
        description=(
            "List sales invoice headers, newest invoice date first (then id): what was billed, "
            "when it is due and what is still unpaid. By default only invoices that count as "
            "revenue (statusKind=sales: sent invoices and reminders, not previews or void ones) "
            "and no credit notes; documentType=credit gives credit notes only (negative totals), "
            "both gives invoices and credits together; statusKind=any drops the status filter; "
            "statusId pins one exact status. Each row has invoiceNumber, dateInvoice, dateDue, "
            "totals ex/inc VAT, paidAmount, openAmount (inc VAT minus payments), isLate (unpaid "
            "past dateDue), isFullyPaid and documentType (invoice or credit). Use "
            "list_sales_orders for the order book (orders not yet invoiced too) and "
            "list_sales_invoice_lines for what was sold per product. Returns at most pageSize rows "
            "(default 50, max 100); when `truncated` is true, call again with `cursor` set to "
            "`nextCursor` and the same filters. Dates are ISO 8601; a date alone means midnight "
            "UTC; ranges include both ends."
        ),
    )
)
