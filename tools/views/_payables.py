"""What we owe suppliers: booked supplier invoices, their open amount and aging bucket, in SQL.

The receivables' rules on the purchase side: an invoice is open while ``TotalIncVat`` minus its
payments is above zero to the cent, and overdue N days when ``DateDue`` is N days before today;
the buckets are the receivables' (``BUCKETS``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tools.errors import NotInSource
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.presence import has_table
from tools.view import ViewContext
from tools.views._documents import CENTS
from tools.views._receivables import aging_by_party_and_currency, bucket_of

si, sp = supplier_invoices, supplier_payments


def paid_per_invoice() -> sa.Subquery:
    return (
        sa.select(sp.c.SupplierInvoiceId, sa.func.sum(sp.c.Amount).label("Paid"))
        .group_by(sp.c.SupplierInvoiceId)
        .subquery("supplier_paid")
    )


def maybe_open() -> sa.ColumnElement[bool]:
    """The open-invoice indexes' condition, as they have it (see ``_receivables.maybe_open``)."""
    return si.c.PaidAmount < si.c.TotalIncVat


def invoices_with_open(
    today: date, *, per_row: bool = False, kept: bool = False
) -> tuple[sa.Select[Any], sa.ColumnElement[Decimal]]:
    """Every supplier invoice with ``Paid``, ``Open`` and ``Bucket``; returns the statement and
    the open-amount expression (to filter on). ``per_row``: each invoice's payments summed by a
    correlated subquery on the payment index (for a page of a list, which reads few invoices),
    else joined and grouped once (for sums over every invoice). ``kept``: read from the
    ``PaidAmount`` the database keeps (``tools.balances``)."""
    if kept:
        paid_value: Any = si.c.PaidAmount
        source: Any = si
    elif per_row:
        paid_value = (
            sa.select(sa.func.coalesce(sa.func.sum(sp.c.Amount), 0))
            .where(sp.c.SupplierInvoiceId == si.c.Id)
            .scalar_subquery()
        )
        source = si
    else:
        paid = paid_per_invoice()
        paid_value = sa.func.coalesce(paid.c.Paid, 0)
        source = si.outerjoin(paid, paid.c.SupplierInvoiceId == si.c.Id)
    paid_sum = sa.type_coerce(paid_value, CENTS)
    unpaid = sa.type_coerce(si.c.TotalIncVat - paid_value, CENTS)
    columns = [column for column in si.c if column.name != "PaidAmount"]  # absent before an upgrade
    stmt = sa.select(
        *columns, paid_sum.label("Paid"), unpaid.label("Open"), bucket_of(today, si.c.DateDue).label("Bucket")
    )
    return stmt.select_from(source), unpaid


def aging_by_supplier_and_currency(
    today: date, *where: sa.ColumnElement[bool], kept: bool = False
) -> sa.Select[Any]:
    stmt, _ = invoices_with_open(today, kept=kept)
    if kept:
        stmt = stmt.where(maybe_open())
    return aging_by_party_and_currency(stmt.where(*where).subquery("open_supplier_invoice"), "SupplierId")


def require_payables(conn: sa.Connection, ctx: ViewContext, tool: str) -> None:
    """An ERP database read directly may predate the supplier-invoice tables: say so, not a 500."""
    if not has_table(conn, ctx, si):
        raise NotInSource(
            f"{tool} cannot be answered for this tenant: its database keeps no booked supplier invoices "
            f"(no {si.name} table). This is not an empty result; the data is not available here."
        )
