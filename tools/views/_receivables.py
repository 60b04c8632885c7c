"""What customers owe: open sales invoices, how long they are overdue, in SQL.

An invoice is open when it counts as revenue (SALESINVOICE with IsSales) and ``totalIncVat``
minus its payments is above zero (the same rule as ``openAmount`` and ``overdueOrderSum``); it is
overdue when ``dateDue`` is before today. Credit notes are not receivables here: they net
against sales in the summaries.

Where the database keeps ``Orders.PaidAmount`` (``tools.balances``; ``kept`` below) the open
invoices are read from the partial index ``ix_orders_open`` alone; otherwise (a database not yet
upgraded) the payments are summed per invoice, with the same answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from tools import schema as s
from tools.balances import balance_kept
from tools.home_currency import CENT, HomeCurrency
from tools.reference import SALESINVOICE
from tools.statuses import status_ids
from tools.views._documents import CENTS, paid_amount
from tools.wire import midnight

o = s.orders
# Aging buckets: name and the fewest days overdue that fall into it ("notDue": not yet due).
MILLION = 1_000_000
BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("notDue", None),
    ("overdue1To30", 1),
    ("overdue31To60", 31),
    ("overdue61To90", 61),
    ("overdueOver90", 91),
)


def open_amount(*, kept: bool = False) -> sa.ColumnElement[Decimal]:
    return sa.type_coerce(o.c.TotalIncVat - paid_amount(kept=kept), CENTS)


def maybe_open() -> sa.ColumnElement[bool]:
    """``ix_orders_open``'s condition, written as the index has it so the planner uses it: every
    invoice with something open satisfies it (a few paid to within a float's error too)."""
    return o.c.PaidAmount < o.c.TotalIncVat


def is_open(unpaid: sa.ColumnElement[Decimal]) -> sa.ColumnElement[bool]:
    """Above zero to the cent (SQLite subtracts floating-point sums: 1e-12 is paid)."""
    return sa.func.round(unpaid, 2) > 0


def bucket_of(today: date, due: sa.ColumnElement[Any] = o.c.DateDue) -> sa.ColumnElement[str]:
    """The invoice's aging bucket: overdue N days when ``due`` (the invoice's dateDue; a sales
    invoice's unless given) is N days before today."""
    whens = [
        (due < midnight(today - timedelta(days=days - 1)), name)
        for name, days in reversed(BUCKETS)
        if days is not None
    ]
    return sa.case(*whens, else_="notDue")


def open_invoices(today: date, *where: sa.ColumnElement[bool], kept: bool = False) -> sa.Subquery:
    """Each invoice with its customer, currency, open amount and aging bucket. With the balance
    ``kept`` on the row only the invoices in ``ix_orders_open`` are read; without, payments are
    joined and grouped per invoice, so the open amount is worked out once per invoice (a
    correlated subquery would be repeated in every bucket's sum)."""
    counted = o.c.OrderStatusId.in_(status_ids(SALESINVOICE, flag="IsSales"))
    if kept:
        return (
            sa.select(
                o.c.CompanyId,
                o.c.CurrencyId,
                sa.type_coerce(o.c.TotalIncVat - o.c.PaidAmount, CENTS).label("Open"),
                bucket_of(today).label("Bucket"),
            )
            .where(counted, maybe_open(), *where)
            .subquery("open_invoice")
        )
    p = s.payments
    paid = sa.func.coalesce(sa.func.sum(p.c.Amount), 0)
    stmt = (
        sa.select(
            o.c.CompanyId,
            o.c.CurrencyId,
            sa.type_coerce(o.c.TotalIncVat - paid, CENTS).label("Open"),
            bucket_of(today).label("Bucket"),
        )
        .select_from(o.outerjoin(p, p.c.OrderId == o.c.Id))
        .where(counted, *where)
        .group_by(o.c.Id, o.c.CompanyId, o.c.CurrencyId, o.c.TotalIncVat, o.c.DateDue)
    )
    return stmt.subquery("open_invoice")


def aging_by_party_and_currency(invoices: sa.Subquery, party: str) -> sa.Select[Any]:
    """Per party (the ``party`` column of ``invoices``: a customer or a supplier) and currency,
    the open invoices counted and their open amounts (``Open``) summed per aging bucket
    (``Bucket``)."""
    sums = [
        sa.func.coalesce(
            sa.func.sum(sa.case((invoices.c.Bucket == name, invoices.c.Open), else_=0)), 0
        ).label(name)
        for name, _ in BUCKETS
    ]
    key = invoices.c[party]
    return (
        sa.select(key, invoices.c.CurrencyId, sa.func.count().label("Invoices"), *sums)
        .where(is_open(invoices.c.Open))
        .group_by(key, invoices.c.CurrencyId)
    )


def aging_by_customer_and_currency(
    today: date, *where: sa.ColumnElement[bool], kept: bool = False
) -> sa.Select[Any]:
    return aging_by_party_and_currency(open_invoices(today, *where, kept=kept), "CompanyId")


def in_home(home: HomeCurrency, amount: sa.ColumnElement[Any], currency_id: sa.ColumnElement[int]) -> Any:
    """``amount`` (a sum in one currency) in the home currency, rounded half-up to the cent like
    ``to_home``. Whole cents times the rate in millionths, in integers: SQLite's floating-point
    round() would miss a half cent now and then."""
    micro = sa.case(
        {rate.currency_id: int(rate.to_home * MILLION) for rate in home.rates.values()}, value=currency_id
    )
    scaled = sa.cast(sa.func.round(amount * 100), sa.BigInteger) * micro
    half = MILLION // 2
    whole_cents = sa.case((scaled >= 0, (scaled + half) // MILLION), else_=-((-scaled + half) // MILLION))
    return whole_cents / sa.literal(Decimal(100), sa.Numeric(18, 2))


def customer_open_in_home(
    home: HomeCurrency,
    today: date,
    customer_id: sa.ColumnElement[int],
    *,
    overdue_only: bool,
    kept: bool = False,
) -> sa.ScalarSelect[Decimal]:
    """Per customer row: its open (or overdue) amount in the home currency, each document
    currency's sum per aging bucket converted once (so it equals the receivables view's)."""
    unpaid = open_amount(kept=kept)
    where = [
        o.c.CompanyId == customer_id,
        o.c.OrderStatusId.in_(status_ids(SALESINVOICE, flag="IsSales")),
        is_open(unpaid),
    ]
    if kept:
        where.append(maybe_open())
    if overdue_only:
        where.append(o.c.DateDue < midnight(today))
    bucket = bucket_of(today)
    per_currency = (
        sa.select(o.c.CurrencyId, sa.func.sum(unpaid).label("Open"))
        .where(*where)
        .group_by(o.c.CurrencyId, bucket)
        .correlate_except(o, s.payments)
        .subquery("customer_open")
    )
    total = sa.func.sum(in_home(home, per_currency.c.Open, per_currency.c.CurrencyId))
    return sa.select(sa.type_coerce(sa.func.coalesce(total, 0), CENTS)).scalar_subquery()


def bucket_names() -> Sequence[str]:
    return [name for name, _ in BUCKETS]


def cents(value: Any) -> Decimal:
    """A database sum to the cent (SQLite sums money as floating point)."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def buckets_in_home(home: HomeCurrency, sums: Sequence[Any]) -> dict[str, Decimal]:
    """One customer's aging buckets in the home currency from its per-currency rows, with
    ``overdue`` and ``open`` as the sums of the converted buckets."""
    buckets = {
        name: sum((home.convert(cents(r._mapping[name]), r.CurrencyId) for r in sums), Decimal(0))
        for name in bucket_names()
    }
    overdue = sum((v for k, v in buckets.items() if k != "notDue"), Decimal(0))
    return buckets | {"overdue": overdue, "open": buckets["notDue"] + overdue}


def owed_in_home(
    conn: sa.Connection, home: HomeCurrency, today: date, customer_ids: Sequence[int]
) -> dict[int, dict[str, Decimal]]:
    """What each of ``customer_ids`` owes, aged, in one grouped query over their invoices."""
    aging = aging_by_customer_and_currency(today, o.c.CompanyId.in_(customer_ids), kept=balance_kept(conn))
    rows = conn.execute(aging).all()
    per_customer: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        per_customer[row.CompanyId].append(row)
    return {customer: buckets_in_home(home, sums) for customer, sums in per_customer.items()}
