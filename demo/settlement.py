"""What happened after the document: customers' payments on invoices, goods received on
purchase-order lines."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from demo.catalog import Catalog
from demo.chance import Odds
from demo.lines import Line

RECEIPT_COUNTS = Odds((1, 70), (2, 22), (3, 8))


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


def payments(rng: random.Random, total: int, invoice_day: int, due_day: int, today: int) -> list[Payment]:
    """Old invoices mostly paid (once or in two parts), some part-paid, some left overdue;
    invoices not yet due mostly unpaid."""
    paid_share, part_share = _payment_odds(due_day, today)
    roll = rng.random()
    if roll >= paid_share + part_share:
        return []

    def paid_around(day: int) -> int:
        return max(invoice_day, min(today, day))

    if roll >= paid_share:
        return [
            Payment(max(1, total * rng.randint(10, 80) // 100), paid_around(due_day + rng.randint(-10, 20)))
        ]
    if rng.random() < 0.85:
        return [Payment(total, paid_around(due_day + rng.randint(-12, 15)))]
    first = max(1, total * rng.randint(20, 80) // 100)
    first_day = paid_around(invoice_day + rng.randint(0, max(0, due_day - invoice_day)))
    return [Payment(first, first_day), Payment(total - first, paid_around(first_day + rng.randint(1, 30)))]


def _payment_odds(due_day: int, today: int) -> tuple[float, float]:
    """(fully paid, part-paid) probabilities by how long ago the invoice fell due."""
    if due_day >= today:
        return 0.2, 0.05
    if today - due_day <= 60:
        return 0.65, 0.1
    return 0.9, 0.04


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
