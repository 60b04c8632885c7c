"""Sales invoices: ``GET /sales-invoices``, SALESINVOICE documents and, when asked, credit notes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.balances import balance_kept
from tools.paging import Page, Paging, TrustedPage, read_trusted_page
from tools.planner_hints import unindexed_date
from tools.reference import SALESCREDIT, SALESINVOICE
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    NEWEST_INVOICE_FIRST,
    CustomerFilter,
    InvoiceDates,
    Totals,
    dated_within,
    document_values,
    header,
    in_status,
    is_before,
    open_amount,
    orders,
    paid_amount,
    payment_state,
    statement_key,
    text_apart,
    within,
)
from tools.wire import Money, QueryDateTime, UtcDateTime, WireModel, midnight

StatusKind = Literal["sales", "any"]
DocumentType = Literal["invoice", "credit", "both"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"sales": "IsSales", "any": None}
STATUS_TYPES: dict[DocumentType, tuple[str, ...]] = {
    "invoice": (SALESINVOICE,),
    "credit": (SALESCREDIT,),
    "both": (SALESINVOICE, SALESCREDIT),
}


class SalesInvoiceParams(CustomerFilter, InvoiceDates, Totals):
    status_kind: StatusKind = Field(
        "sales",
        description="Which statuses count: sales (default, counts as revenue: no previews or void) or any",
    )
    document_type: DocumentType = Field(
        "invoice", description="invoice (default), credit (credit notes only) or both"
    )
    due_date_from: QueryDateTime | None = Field(None, description="dateDue on or after")
    due_date_to: QueryDateTime | None = Field(None, description="dateDue on or before")
    q: str | None = Field(
        None,
        description="Free text: the id or invoice number exactly, or part of the customer or document name",
    )
    is_late: bool | None = Field(
        None, description="true: only invoices unpaid past dateDue (isLate); false: only the others"
    )
    is_fully_paid: bool | None = Field(
        None, description="true: only fully paid (openAmount <= 0); false: only those with something open"
    )
    open_amount_min: Decimal | None = Field(
        None, description="openAmount (inc VAT, still to be paid) at least this, in the invoice's currency"
    )
    open_amount_max: Decimal | None = Field(None, description="openAmount at most this")

    def statuses(self, conn: sa.Connection) -> sa.ColumnElement[bool]:
        types = STATUS_TYPES[self.document_type]
        return in_status(conn, types, STATUS_FLAG[self.status_kind], self.status_id)

    def where(self, conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
        # Undated documents cannot take a place in the invoice-date order (issued ones are dated).
        dated = orders.c.DateInvoice.is_not(None)
        return [
            *super().where(conn),
            dated,
            *dated_within(orders.c.DateDue, self.due_date_from, self.due_date_to),
        ]

    def payment_state(self, conn: sa.Connection, today: date, kept: bool) -> list[sa.ColumnElement[bool]]:
        """The filters on what is still open, checked per invoice by its payments' index. With
        no refund among the payments an invoice's open amount is at most its total, so a large
        openAmountMin can be served by the totals' index instead of summing every invoice.
        ``kept``: the database keeps PaidAmount (``tools.balances``)."""
        unpaid = open_amount(kept=kept)
        where = within(unpaid, self.open_amount_min, self.open_amount_max)
        if self.open_amount_min is not None and not any_refund(conn):
            where.append(orders.c.TotalIncVat >= self.open_amount_min)
        if self.is_fully_paid is not None:
            where.append(unpaid <= 0 if self.is_fully_paid else unpaid > 0)
        if self.is_late is not None:
            due = unindexed_date(conn, orders.c.DateDue)
            late = sa.and_(due.is_not(None), due < midnight(today), unpaid > 0)
            where.append(late if self.is_late else sa.not_(late))
        return where


def any_refund(conn: sa.Connection) -> bool:
    """Whether some payment is negative (ix_payment_amount answers from its first entry)."""
    payments = s.payments
    return conn.execute(sa.select(payments.c.Id).where(payments.c.Amount < 0).limit(1)).first() is not None


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


def list_sales_invoices(
    conn: sa.Connection, ctx: ViewContext, params: SalesInvoiceParams
) -> TrustedPage[SalesInvoiceDto]:
    kept = balance_kept(conn)
    built, text = text_apart(conn, params)

    def statement() -> sa.Select[Any]:
        stmt = header("customer").add_columns(
            orders.c.InvoiceNumber.label("invoice_number"), paid_amount(kept=kept).label("paid_amount")
        )
        return stmt.where(*built.where(conn), *built.payment_state(conn, ctx.today, kept))

    # openAmountMin's statement depends on whether any refund exists (read per call); the others
    # on whether the database keeps PaidAmount yet (one tenant upgraded, another not).
    key = (
        None
        if built.open_amount_min is not None
        else statement_key(conn, "sales-invoices", built, ctx.today, kept)
    )
    return read_trusted_page(
        conn,
        statement,
        NEWEST_INVOICE_FIRST,
        ctx.page,
        SalesInvoiceDto,
        lambda row: _sales_invoice(row, ctx),
        key,
        text,
    )


def _sales_invoice(row: Mapping[str, Any], ctx: ViewContext) -> dict[str, Any]:
    payment = payment_state(row)
    return document_values(
        row,
        **payment,
        is_late=payment["open_amount"] > 0 and is_before(row["date_due"], ctx.today),
        document_type="credit" if row["status_type"] == SALESCREDIT else "invoice",
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
        paging=Paging(default=50, maximum=100),
        title="List sales invoices and credit notes",
        description=(
            "List sales invoice headers, newest invoice date first (then id): what was billed, "
            "when it is due and what is still unpaid. By default only invoices that count as "
            "revenue (statusKind=sales: sent invoices and reminders, not previews or void ones) "
            "and no credit notes; documentType=credit gives credit notes only (negative totals), "
            "both gives invoices and credits together; statusKind=any drops the status filter; "
            "statusId pins one exact status. Each row has invoiceNumber, dateInvoice, dateDue, "
            "totals ex/inc VAT, paidAmount, openAmount (inc VAT minus payments), isLate (unpaid "
            "past dateDue), isFullyPaid and documentType (invoice or credit). isLate, isFullyPaid, "
            "openAmountMin and openAmountMax filter on what is still open: overdue invoices are "
            "isLate=true (filter by customerId for one customer's). Use "
            "list_sales_orders for the order book (orders not yet invoiced too) and "
            "list_sales_invoice_lines for what was sold per product. Dates are ISO 8601; a date "
            "alone means midnight UTC; ranges include both ends."
        ),
    )
)
