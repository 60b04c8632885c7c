"""Payables: ``GET /payables`` (booked supplier invoices with open amount and payments) and
``GET /payables/aging`` (what we owe per supplier in the receivables' aging buckets)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.balances import SUPPLIER, balance_kept
from tools.home_currency import home_currency
from tools.paging import Page, PagedParams, Paging, SortKey, fetch_page, page_of
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.text import contains
from tools.view import View, ViewContext, register
from tools.views._payables import (
    aging_by_supplier_and_currency,
    invoices_with_open,
    maybe_open,
    require_payables,
)
from tools.views._receivables import cents, is_open
from tools.views.receivables import Aging, CurrencyOpen, aged_parties
from tools.wire import IsoDate, Money, Params, QueryDateTime, UtcDateTime, WireModel, midnight, to_db_datetime

c, cur = s.companies, s.currencies
si, sp = supplier_invoices, supplier_payments
MAX_SUPPLIERS = 100
State = Literal["open", "overdue", "paid", "any"]
Bucket = Literal["notDue", "overdue1To30", "overdue31To60", "overdue61To90", "overdueOver90"]


class PayablesParams(PagedParams):
    supplier_id: int | None = Field(None, description="Only invoices of this supplier (company id)")
    supplier_name: str | None = Field(None, description="Substring of the supplier name, any case")
    state: State = Field(
        "open",
        description="open (default: something left to pay) | overdue (open and past dateDue) | "
        "paid (nothing left to pay) | any",
    )
    due_date_from: QueryDateTime | None = Field(None, description="dateDue on or after")
    due_date_to: QueryDateTime | None = Field(None, description="dateDue on or before")
    q: str | None = Field(None, description="Substring of the supplier's invoice number or supplier name")


class SupplierPaymentDto(WireModel):
    amount: Money
    date_paid: UtcDateTime


class PayableDto(WireModel):
    supplier_invoice_id: int
    supplier_id: int
    supplier_name: str
    invoice_number: str = Field(description="The supplier's invoice number")
    purchase_order_id: int | None = Field(description="The purchase order invoiced, when known")
    date_invoice: UtcDateTime
    date_due: UtcDateTime
    currency_iso_code: str
    total_ex_vat: Money
    total_vat: Money
    total_inc_vat: Money
    paid_amount: Money = Field(description="Sum of the payments, document currency")
    open_amount: Money = Field(description="totalIncVat minus paidAmount, document currency")
    days_overdue: int = Field(description="Days past dateDue while open; 0 when not due or paid")
    aging_bucket: Bucket | None = Field(description="The aging bucket of the open amount; null when paid")
    payments: list[SupplierPaymentDto] = Field(description="Payments made, oldest first")


def list_payables(conn: sa.Connection, ctx: ViewContext, params: PayablesParams) -> Page[PayableDto]:
    require_payables(conn, ctx, "list_payables")
    kept = balance_kept(conn, SUPPLIER)
    stmt, unpaid = invoices_with_open(ctx.today, per_row=True, kept=kept)
    stmt = (
        stmt.add_columns(c.c.Name.label("SupplierName"), cur.c.IsoCode)
        .join(c, c.c.Id == si.c.SupplierId)
        .join(cur, cur.c.Id == si.c.CurrencyId)
        .where(*_filters(params, unpaid, ctx.today, kept))
    )
    keys = [SortKey(si.c.DateDue), SortKey(si.c.Id)]
    rows, next_cursor = fetch_page(conn, stmt, keys, ctx.page)
    paid = _payments(conn, [r.Id for r in rows])
    return page_of([_payable(r._mapping, paid[r.Id], ctx.today) for r in rows], next_cursor, ctx.page)


def _filters(params: PayablesParams, unpaid: Any, today: date, kept: bool) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = {
        "open": [is_open(unpaid)],
        "overdue": [is_open(unpaid), si.c.DateDue < midnight(today)],
        "paid": [sa.not_(is_open(unpaid))],
        "any": [],
    }[params.state]
    if kept and params.state in ("open", "overdue"):
        where.append(maybe_open())  # served by ix_supplier_invoice_open_due
    if params.supplier_id is not None:
        where.append(si.c.SupplierId == params.supplier_id)
    if params.supplier_name:
        where.append(contains(c.c.Name, params.supplier_name))
    if params.due_date_from is not None:
        where.append(si.c.DateDue >= to_db_datetime(params.due_date_from))
    if params.due_date_to is not None:
        where.append(si.c.DateDue <= to_db_datetime(params.due_date_to))
    if params.q:
        where.append(sa.or_(contains(si.c.InvoiceNumber, params.q), contains(c.c.Name, params.q)))
    return where


def _payments(conn: sa.Connection, invoice_ids: Sequence[int]) -> dict[int, list[SupplierPaymentDto]]:
    """The page's payments in one query."""
    by_invoice: dict[int, list[SupplierPaymentDto]] = defaultdict(list)
    if invoice_ids:
        rows = conn.execute(
            sa.select(sp.c.SupplierInvoiceId, sp.c.Amount, sp.c.DatePaid)
            .where(sp.c.SupplierInvoiceId.in_(invoice_ids))
            .order_by(sp.c.SupplierInvoiceId, sp.c.DatePaid, sp.c.Id)
        )
        for r in rows:
            by_invoice[r.SupplierInvoiceId].append(SupplierPaymentDto(amount=r.Amount, date_paid=r.DatePaid))
    return by_invoice


def _payable(row: sa.RowMapping, payments: list[SupplierPaymentDto], today: date) -> PayableDto:
    open_amount = cents(row["Open"])
    is_open_now = open_amount > 0
    overdue_days = (today - to_db_datetime(row["DateDue"]).date()).days
    return PayableDto(
        supplier_invoice_id=row["Id"],
        supplier_id=row["SupplierId"],
        supplier_name=row["SupplierName"],
        invoice_number=row["InvoiceNumber"],
        purchase_order_id=row["PurchaseOrderId"],
        date_invoice=row["DateInvoice"],
        date_due=row["DateDue"],
        currency_iso_code=row["IsoCode"],
        total_ex_vat=row["TotalExVat"],
        total_vat=row["TotalVat"],
        total_inc_vat=row["TotalIncVat"],
        paid_amount=cents(row["Paid"]),
        open_amount=open_amount,
        days_overdue=max(0, overdue_days) if is_open_now else 0,
        aging_bucket=row["Bucket"] if is_open_now else None,
        payments=payments,
    )


# -- aging ------------------------------------------------------------------------------


class PayablesAgingParams(Params):
    supplier_id: int | None = Field(
        None, description="Only this supplier (its row is returned even when nothing is open)"
    )
    supplier_name: str | None = Field(None, description="Substring of the supplier name, any case")
    overdue_min: Decimal | None = Field(
        None, description="Only suppliers whose overdue amount in the home currency is at least this"
    )
    limit: int = Field(25, ge=1, description="Suppliers shown, most overdue first. Default 25, max 100")


class SupplierPayable(Aging):
    supplier_id: int
    supplier_name: str
    by_currency: list[CurrencyOpen] = Field(description="Open and overdue in each document currency")


class PayablesAgingDto(WireModel):
    as_of: IsoDate = Field(description="Today (UTC): days overdue count from here")
    home_currency_iso_code: str
    totals: Aging = Field(description="Sums over every matching supplier, not only those shown")
    supplier_count: int = Field(description="Suppliers that match")
    suppliers: list[SupplierPayable] = Field(description="Most overdue first (then most open, then id)")
    truncated: bool = Field(description="True when more suppliers match than are shown (raise limit)")


def payables_aging(conn: sa.Connection, ctx: ViewContext, params: PayablesAgingParams) -> PayablesAgingDto:
    require_payables(conn, ctx, "get_payables_aging")
    home = home_currency(conn, ctx)
    where: list[sa.ColumnElement[bool]] = []
    if params.supplier_id is not None:
        where.append(si.c.SupplierId == params.supplier_id)
    if params.supplier_name:
        where.append(si.c.SupplierId.in_(sa.select(c.c.Id).where(contains(c.c.Name, params.supplier_name))))
    kept = balance_kept(conn, SUPPLIER)
    per_currency = conn.execute(aging_by_supplier_and_currency(ctx.today, *where, kept=kept)).all()
    aged = aged_parties(
        home,
        per_currency,
        party="SupplierId",
        parties=lambda ids: conn.execute(sa.select(c.c.Id, c.c.Name).where(c.c.Id.in_(ids))).all(),
        pinned=params.supplier_id,
        row=_supplier_row,
        overdue_min=params.overdue_min,
        limit=min(params.limit, MAX_SUPPLIERS),
    )
    return PayablesAgingDto(
        as_of=ctx.today,
        home_currency_iso_code=home.iso_code,
        totals=aged.totals,
        supplier_count=aged.count,
        suppliers=aged.shown,
        truncated=aged.truncated,
    )


def _supplier_row(supplier: Any, aging: Aging, by_currency: list[CurrencyOpen]) -> SupplierPayable:
    return SupplierPayable(
        supplier_id=supplier.Id,
        supplier_name=supplier.Name,
        by_currency=by_currency,
        **aging.model_dump(by_alias=False),
    )


register(
    View(
        name="payables",
        tool="list_payables",
        method="GET",
        path="/payables",
        params=PayablesParams,
        result=Page[PayableDto],
        query=list_payables,
        paging=Paging(default=50, maximum=200),
        title="List payables: booked supplier invoices and what is left to pay",
        description=(
            "Booked supplier (purchase) invoices, earliest dateDue first: supplier, the supplier's "
            "invoice number, dates, currency, totals, paidAmount, openAmount, daysOverdue, the aging "
            "bucket and the payments made. By default only invoices with something left to pay "
            "(`state=open`); `overdue`, `paid` or `any` for the rest. Answers 'what do we have to pay "
            "this week' (dueDateTo), 'which supplier invoices are overdue', 'was invoice X paid'. "
            "Use get_payables_aging for what we owe per supplier in aging buckets."
        ),
    )
)

register(
    View(
        name="payables-aging",
        tool="get_payables_aging",
        method="GET",
        path="/payables/aging",
        params=PayablesAgingParams,
        result=PayablesAgingDto,
        query=payables_aging,
        title="Payables aging: what we owe per supplier",
        description=(
            "What we owe suppliers, computed in the database: per supplier the open amount of its "
            "unpaid booked supplier invoices in the home currency, split into the receivables' aging "
            "buckets (notDue, overdue1To30, overdue31To60, overdue61To90, overdueOver90 days past "
            "dateDue), the overdue sum, and per document currency the open and overdue amounts; plus "
            "a `totals` row over every matching supplier. Most overdue first. Answers 'what do we "
            "owe', 'which suppliers are we late paying' (overdueMin, in the home currency). Use "
            "list_payables for the individual invoices."
        ),
    )
)
