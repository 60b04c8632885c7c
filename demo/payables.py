"""Booked supplier invoices with their payments: the demo tenant's payables.

Runs after the base generator on the same database. Nine in ten purchase orders delivered at
least three days before today are invoiced by their vendor, 0-10 days after delivery, due after
the vendor's payment terms (30 days without terms), for the order's totals in its currency. The
invoice takes the purchase order's id (ids are already offset per tenant). Most invoices that
fell due were paid within terms (a few days early or on the due day), some late, a few part-paid,
a few left overdue; invoices not yet due are mostly still open. Deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from demo import bulk
from demo.bulk import Row, require_columns
from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.reference import PURCHASEORDER
from tools.statuses import status_ids

require_columns(
    supplier_invoices,
    "Id SupplierId PurchaseOrderId InvoiceNumber DateInvoice DateDue CurrencyId "
    "TotalExVat TotalVat TotalIncVat PaidAmount",
)
require_columns(supplier_payments, "Id SupplierInvoiceId Amount DatePaid")

DEFAULT_TERMS_DAYS = 30
INVOICED_SHARE = 0.9
MIN_DAYS_SINCE_DELIVERY = 3
PAYMENTS_PER_INVOICE = 4  # payment ids: invoice id * 4 + 0..3


def write_supplier_invoices(conn: sa.Connection, *, seed: int, today: date) -> tuple[int, int]:
    """Insert the invoices and payments; returns how many of each were written."""
    rng = random.Random(seed * 7919 + 13)
    invoices: list[Row] = []
    paid: list[Row] = []
    for po in conn.execute(_delivered_purchase_orders(today)):
        if rng.random() >= INVOICED_SHARE:
            continue
        delivered = po.DateDelivery.date()
        invoiced = min(today, delivered + timedelta(days=rng.randint(0, 10)))
        due = invoiced + timedelta(days=po.TermDays if po.TermDays is not None else DEFAULT_TERMS_DAYS)
        number = f"{rng.choice(('F', 'INV', ''))}{rng.randint(10_000, 999_999)}"
        payments = _payments(rng, Decimal(po.TotalIncVat), invoiced, due, today)
        invoices.append(
            (
                po.Id,
                po.CompanyId,
                po.Id,
                number,
                _at(invoiced),
                _at(due),
                po.CurrencyId,
                po.TotalExVat,
                po.TotalVat,
                po.TotalIncVat,
                sum((amount for amount, _ in payments), Decimal(0)),  # kept by triggers from here on
            )
        )
        for k, (amount, day) in enumerate(payments):
            paid.append((po.Id * PAYMENTS_PER_INVOICE + k, po.Id, amount, _at(day)))
    bulk.insert_rows(conn, supplier_invoices, invoices)
    bulk.insert_rows(conn, supplier_payments, paid)
    return len(invoices), len(paid)


def _delivered_purchase_orders(today: date) -> sa.Select[Any]:
    o, c, t = s.orders, s.companies, s.payment_terms
    return (
        sa.select(
            o.c.Id,
            o.c.CompanyId,
            o.c.DateDelivery,
            o.c.CurrencyId,
            o.c.TotalExVat,
            o.c.TotalVat,
            o.c.TotalIncVat,
            t.c.Days.label("TermDays"),
        )
        .join(c, c.c.Id == o.c.CompanyId)
        .outerjoin(t, t.c.Id == c.c.PaymentTermId)
        .where(
            o.c.OrderStatusId.in_(status_ids(PURCHASEORDER)),
            o.c.DateDelivery <= _at(today - timedelta(days=MIN_DAYS_SINCE_DELIVERY)),
            o.c.TotalIncVat > 0,
        )
        .order_by(o.c.Id)
    )


def _payments(
    rng: random.Random, total: Decimal, invoiced: date, due: date, today: date
) -> list[tuple[Decimal, date]]:
    def on(day: date) -> date:
        return max(invoiced, min(today, day))

    roll = rng.random()
    if due >= today:  # not yet due: a quarter paid early
        return [(total, on(due - timedelta(days=rng.randint(0, 20))))] if roll < 0.25 else []
    if roll < 0.80:  # within terms
        return [(total, on(due - timedelta(days=rng.randint(0, 7))))]
    if roll < 0.92:  # late
        late = due + timedelta(days=rng.randint(1, 40))
        return [(total, late)] if late <= today else []
    if roll < 0.96:  # part-paid
        part = (total * Decimal(rng.randint(20, 80)) / 100).quantize(Decimal("0.01"))
        return [(part, on(due - timedelta(days=rng.randint(0, 5))))]
    return []  # disputed or forgotten: still open


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
