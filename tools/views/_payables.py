"""What we owe suppliers: booked supplier invoices, their open amount and aging bucket, in SQL.

The receivables' rules on the purchase side: an invoice is open while ``TotalIncVat`` minus its
payments is above zero to the cent, and overdue N days when ``DateDue`` is N days before today;
the buckets are the receivables' (``BUCKETS``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tools.payables_schema import supplier_invoices, supplier_payments
from tools.views._documents import CENTS
from tools.views._receivables import BUCKETS, is_open
from tools.wire import midnight

si, sp = supplier_invoices, supplier_payments


def paid_per_invoice() -> sa.Subquery:
    return (
        sa.select(sp.c.SupplierInvoiceId, sa.func.sum(sp.c.Amount).label("Paid"))
        .group_by(sp.c.SupplierInvoiceId)
        .subquery("supplier_paid")
    )


def bucket_of(today: date) -> sa.ColumnElement[str]:
    whens = [
        (si.c.DateDue < midnight(today - timedelta(days=days - 1)), name)
        for name, days in reversed(BUCKETS)
        if days is not None
    ]
    return sa.case(*whens, else_="notDue")


def invoices_with_open(today: date) -> tuple[sa.Select[Any], sa.ColumnElement[Decimal]]:
    """Every supplier invoice with ``Paid``, ``Open`` and ``Bucket``; returns the statement and
    the open-amount expression (to filter on)."""
    paid = paid_per_invoice()
    paid_sum = sa.type_coerce(sa.func.coalesce(paid.c.Paid, 0), CENTS)
    unpaid = sa.type_coerce(si.c.TotalIncVat - sa.func.coalesce(paid.c.Paid, 0), CENTS)
    stmt = sa.select(
        si, paid_sum.label("Paid"), unpaid.label("Open"), bucket_of(today).label("Bucket")
    ).select_from(si.outerjoin(paid, paid.c.SupplierInvoiceId == si.c.Id))
    return stmt, unpaid


def aging_by_supplier_and_currency(today: date, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    stmt, _ = invoices_with_open(today)
    inv = stmt.where(*where).subquery("open_supplier_invoice")
    sums = [
        sa.func.coalesce(sa.func.sum(sa.case((inv.c.Bucket == name, inv.c.Open), else_=0)), 0).label(name)
        for name, _ in BUCKETS
    ]
    return (
        sa.select(inv.c.SupplierId, inv.c.CurrencyId, sa.func.count().label("Invoices"), *sums)
        .where(is_open(inv.c.Open))
        .group_by(inv.c.SupplierId, inv.c.CurrencyId)
    )
