"""What happened after the document: customers' payments on invoices (by each customer's payment
habit, with disputes and write-offs settled by credit notes), goods received on purchase-order
lines.

The rates the payment habits aim for are stated in docs/DEMO_DATA.md and checked by
tests/test_demo_payments.py.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from demo.catalog import Catalog
from demo.chance import Odds
from demo.lines import Line
from demo.parties import Parties, Party

RECEIPT_COUNTS = Odds((1, 70), (2, 22), (3, 8))


class Habit(enum.Enum):
    """How a customer pays: most pay within terms, some run late, a few are chronically late."""

    PROMPT = enum.auto()
    SLOW = enum.auto()
    CHRONIC = enum.auto()


HABIT_SHARES = ((Habit.CHRONIC, 0.08), (Habit.SLOW, 0.2))  # the rest pay within terms
# Days after the due date an invoice is paid (negative: before it), as (first, last) ranges.
DAYS_LATE = {
    Habit.PROMPT: Odds(((-10, 0), 90), ((1, 14), 8), ((15, 45), 2)),
    Habit.SLOW: Odds(((-5, 0), 40), ((1, 30), 50), ((31, 60), 10)),
    Habit.CHRONIC: Odds(((-3, 0), 5), ((10, 45), 45), ((46, 90), 35), ((91, 180), 15)),
}
# Per mille of a habit's invoices: disputed (the customer pays the undisputed lines by its habit;
# a credit note settles the disputed ones) and written off (never paid, credited in full).
DISPUTE, WRITE_OFF = "dispute", "write-off"
DISPUTED = {Habit.PROMPT: 15, Habit.SLOW: 25, Habit.CHRONIC: 40}
WRITTEN_OFF = {Habit.PROMPT: 1, Habit.SLOW: 5, Habit.CHRONIC: 50}
DISPUTE_DAYS = (15, 90)  # after the due date, until the credit note settles the dispute
WRITE_OFF_DAYS = (120, 270)  # after the due date, until the loss is credited
INSTALMENTS = {Habit.PROMPT: 0.05, Habit.SLOW: 0.12, Habit.CHRONIC: 0.3}  # paid in two parts


@dataclass(frozen=True, slots=True)
class Payment:
    cents: int
    day: int


@dataclass(frozen=True, slots=True)
class Receipt:
    qty: int  # thousandths
    day: int
    location_id: int | None
    booked: bool


def customer_habits(rng: random.Random, parties: Parties) -> dict[int, Habit]:
    """Exactly the stated share of customers per habit, at least one chronically late; the
    chronically late are never among the largest tenth of customers (troubled payers are small)."""
    customers = parties.customers
    volume = [high - low for low, high in itertools.pairwise([0.0, *parties.customer_weights])]
    by_volume = sorted(range(len(customers)), key=lambda index: -volume[index])
    habits = dict.fromkeys((customer.id for customer in customers), Habit.PROMPT)
    candidates = [customers[index].id for index in by_volume[len(customers) // 10 :]]
    for habit, share in HABIT_SHARES:
        chosen = rng.sample(candidates, max(1, round(share * len(customers))))
        habits.update(dict.fromkeys(chosen, habit))
        candidates = [customer.id for customer in customers if habits[customer.id] is Habit.PROMPT]
    return habits


def payments(
    rng: random.Random, habit: Habit, total: int, invoice_day: int, due_day: int, today: int
) -> list[Payment]:
    """What the customer has paid by today: in full on the day its habit gives, sometimes in
    two parts; nothing yet when that day is still to come."""
    low, high = DAYS_LATE[habit].draw(rng)
    paid_day = max(invoice_day, due_day + rng.randint(low, high))
    if total < 200 or rng.random() >= INSTALMENTS[habit]:
        return [Payment(total, paid_day)] if paid_day <= today else []
    first = max(1, total * rng.randint(20, 80) // 100)
    first_day = rng.randint(invoice_day, paid_day)
    parts = [Payment(first, first_day), Payment(total - first, paid_day)]
    return [part for part in parts if part.day <= today]


@dataclass(frozen=True, slots=True)
class Claim:
    """An invoice the customer will not pay as billed, waiting for the credit note that settles
    it: the disputed lines (the customer paid the rest), or all of it when written off."""

    credit_day: int
    order_id: int
    customer: Party
    currency_id: int
    invoice_number: int | None
    credit_lines: list[Line]
    written_off: bool


def claim_kind(rng: random.Random, habit: Habit) -> str | None:
    """DISPUTE, WRITE_OFF or None (the invoice is paid as billed)."""
    roll = rng.random() * 1000
    if roll < WRITTEN_OFF[habit]:
        return WRITE_OFF
    return DISPUTE if roll < WRITTEN_OFF[habit] + DISPUTED[habit] else None


def credit_day(rng: random.Random, kind: str, due_day: int) -> int:
    low, high = WRITE_OFF_DAYS if kind == WRITE_OFF else DISPUTE_DAYS
    return due_day + rng.randint(low, high)


class Claims:
    """Claims in the order their credit notes fall due."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Claim]] = []

    def add(self, claim: Claim) -> None:
        heapq.heappush(self._heap, (claim.credit_day, claim.order_id, claim))

    def due_by(self, day: int) -> Claim | None:
        if self._heap and self._heap[0][0] <= day:
            return heapq.heappop(self._heap)[2]
        return None


def receipts(
    rng: random.Random, catalog: Catalog, line: Line, expected_day: int, order_day: int, today: int
) -> Iterator[Receipt]:
    """Goods received for a purchase-order line, in 1-3 deliveries summing to what was delivered."""
    if line.delivered <= 0 or line.product is None:
        return
    parts = _split(rng, line.delivered, RECEIPT_COUNTS.draw(rng))
    day = max(order_day, min(today, expected_day + rng.randint(-5, 10)))
    for qty in parts:
        yield Receipt(qty, day, _receiving_location(rng, catalog, line), _is_booked(rng, today - day))
        day = min(today, day + rng.randint(2, 20))


def _split(rng: random.Random, qty: int, parts: int) -> list[int]:
    unit = 1000 if qty % 1000 == 0 else 1
    units = qty // unit
    parts = min(parts, units)
    cuts = sorted(rng.sample(range(1, units), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, units]
    return [(high - low) * unit for low, high in itertools.pairwise(bounds)]


def _receiving_location(rng: random.Random, catalog: Catalog, line: Line) -> int | None:
    roll = rng.random()
    if roll < 0.03:
        return None
    if roll < 0.12 or line.product is None or not line.product.location_ids:
        return rng.choice(catalog.location_ids)
    return rng.choice(line.product.location_ids)


def _is_booked(rng: random.Random, age_days: int) -> bool:
    """Older receipts are mostly booked on a supplier invoice; recent ones mostly still open."""
    if age_days > 60:
        return rng.random() < 0.95
    if age_days > 30:
        return rng.random() < 0.6
    return rng.random() < 0.15
