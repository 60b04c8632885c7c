"""The demo's customers pay as real ledgers show: most within terms, a few chronically late, some
disputes and write-offs settled by credit notes (the rates stated in docs/DEMO_DATA.md).

Every figure is computed here from the raw rows by SQL written in this file."""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from demo.generate import generate

TODAY = datetime.date(2026, 5, 20)
ORDERS = 6000

INVOICES = """
SELECT o.Id, o.CompanyId, o.DateInvoice, o.DateDue, o.TotalIncVat, c.RateToSek,
       COALESCE(SUM(p.Amount), 0) AS Paid, MAX(p.DatePaid) AS LastPaid
FROM Orders o
JOIN OrderStatus s ON s.Id = o.OrderStatusId
JOIN OrderStatusType t ON t.Id = s.OrderStatusTypeId
JOIN Currency c ON c.Id = o.CurrencyId
LEFT JOIN Payment p ON p.OrderId = o.Id
WHERE t.SystemName = 'SALESINVOICE' AND s.IsSales
GROUP BY o.Id, o.CompanyId, o.DateInvoice, o.DateDue, o.TotalIncVat, c.RateToSek
"""

# Credit notes in force, each with the invoice it credits and whether a payment of exactly its
# amount was booked on that invoice on the credit note's date (the settlement).
SETTLING_CREDITS = """
SELECT cr.Id, cr.CreditOfOrderId, -cr.TotalIncVat AS Credited, inv.TotalIncVat AS InvoiceTotal,
       EXISTS (SELECT 1 FROM Payment p WHERE p.OrderId = inv.Id AND p.DatePaid = cr.DateInvoice
               AND p.Amount = -cr.TotalIncVat) AS Settles
FROM Orders cr
JOIN OrderStatus s ON s.Id = cr.OrderStatusId
JOIN OrderStatusType t ON t.Id = s.OrderStatusTypeId
JOIN Orders inv ON inv.Id = cr.CreditOfOrderId
WHERE t.SystemName = 'SALESCREDIT' AND s.IsSales
"""


@dataclass(frozen=True)
class Invoice:
    id: int
    customer_id: int
    invoiced: datetime.date
    due: datetime.date
    total: Decimal
    rate: Decimal
    paid: Decimal
    last_paid: datetime.date | None

    @property
    def open_amount(self) -> Decimal:
        return self.total - self.paid

    @property
    def settled(self) -> bool:
        return self.open_amount <= 0

    def days_late(self) -> int:
        assert self.last_paid is not None
        return (self.last_paid - self.due).days

    def open_sek(self) -> Decimal:
        return self.open_amount * self.rate


def _day(value: object) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.datetime.fromisoformat(str(value)).date()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('payments') / 'demo.db'}")
    generate(engine, seed=7, orders=ORDERS, today=TODAY, default_currency="SEK")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def invoices(engine: sa.Engine) -> list[Invoice]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(INVOICES).all()
    cent = Decimal("0.01")
    return [
        Invoice(
            row.Id,
            row.CompanyId,
            _day(row.DateInvoice),
            _day(row.DateDue),
            Decimal(str(row.TotalIncVat)),
            Decimal(str(row.RateToSek)),
            Decimal(str(row.Paid)).quantize(cent),
            None if row.LastPaid is None else _day(row.LastPaid),
        )
        for row in rows
    ]


def share(part: int, whole: int) -> float:
    assert whole > 0
    return part / whole


def test_most_invoices_are_paid_by_their_due_date_and_nearly_all_within_ninety_days(
    invoices: list[Invoice],
) -> None:
    matured = [x for x in invoices if (TODAY - x.due).days >= 90]
    assert len(matured) > 2000

    def settled_within(days: int) -> float:
        return share(sum(1 for x in matured if x.settled and x.days_late() <= days), len(matured))

    assert 0.60 <= settled_within(0) <= 0.80
    assert settled_within(30) >= 0.85
    assert settled_within(90) >= 0.96
    assert share(sum(1 for x in matured if not x.settled), len(matured)) <= 0.02


def test_a_few_customers_are_chronically_late_and_most_pay_within_terms(invoices: list[Invoice]) -> None:
    days_late: dict[int, list[int]] = defaultdict(list)
    for x in invoices:
        if x.settled and x.last_paid is not None:
            days_late[x.customer_id].append(x.days_late())
    typical = [statistics.median(days) for days in days_late.values() if len(days) >= 10]
    assert len(typical) >= 40
    chronic = sum(1 for days in typical if days > 30)
    assert 1 <= chronic <= 0.15 * len(typical)
    assert share(sum(1 for days in typical if days <= 0), len(typical)) >= 0.6


def test_overdue_is_a_minority_of_receivables_and_little_of_it_is_old(invoices: list[Invoice]) -> None:
    open_now = [x for x in invoices if not x.settled]
    receivables = sum(x.open_sek() for x in open_now)
    overdue = [x for x in open_now if x.due < TODAY]
    overdue_sek = sum(x.open_sek() for x in overdue)
    over_90 = sum(x.open_sek() for x in overdue if (TODAY - x.due).days > 90)
    assert 0 < overdue_sek <= receivables / 2
    assert 0 < over_90 <= overdue_sek * Decimal("0.3")
    year_old = [x for x in invoices if (TODAY - x.invoiced).days > 365]
    assert share(sum(1 for x in year_old if not x.settled), len(year_old)) <= 0.01


def test_only_some_customers_have_more_than_ten_thousand_overdue(invoices: list[Invoice]) -> None:
    overdue: dict[int, Decimal] = defaultdict(Decimal)
    for x in invoices:
        if not x.settled and x.due < TODAY:
            overdue[x.customer_id] += x.open_sek()
    customers = {x.customer_id for x in invoices}
    above = sum(1 for amount in overdue.values() if amount > 10_000)
    assert 1 <= above <= 0.3 * len(customers)


def test_disputes_and_write_offs_are_settled_on_the_invoice_by_a_credit_note(
    engine: sa.Engine, invoices: list[Invoice]
) -> None:
    with engine.connect() as conn:
        credits = conn.exec_driver_sql(SETTLING_CREDITS).all()
    settling = [row for row in credits if row.Settles]
    in_full = [row for row in settling if row.Credited == row.InvoiceTotal]  # written off, or upheld
    disputed = [row for row in settling if row.Credited < row.InvoiceTotal]
    assert 0.01 <= share(len(settling), len(invoices)) <= 0.05
    assert 0.001 <= share(len(in_full), len(invoices)) <= 0.015 and disputed
    by_id = {x.id: x for x in invoices}
    long_ago = [by_id[row.CreditOfOrderId] for row in disputed]
    long_ago = [x for x in long_ago if (TODAY - x.due).days > 180]
    assert long_ago and all(x.settled for x in long_ago), "the customer pays the undisputed rest"
    assert len(settling) < len(credits), "most credit notes are still returns and price adjustments"
