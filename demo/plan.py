"""The order book's skeleton: which document each ``Orders`` row is, when it was ordered, and the
invoice numbers, which run with the invoice date across the whole tenant.

Rows are planned before any is written so ids ascend with the order date and invoice numbers
with the invoice date, while the rows themselves are generated and written in batches.
"""

from __future__ import annotations

import itertools
import random
from array import array
from dataclasses import dataclass

from demo.chance import Odds
from demo.days import HISTORY_DAYS, business_weight
from demo.run import Run

SALES_INVOICE, SALES_ORDER, SALES_CREDIT, PURCHASE_ORDER = range(4)
CREDIT_PCT, PURCHASE_PCT = 5, 17  # the rest are sales documents: ~60 % invoices, ~18 % orders
# How likely a sales document of a given age is still a sales order, not invoiced: recent ones
# are mostly open, older ones are the quotes and cancellations that never became invoices.
SALES_ORDER_ODDS_BY_AGE = ((30, 0.75), (90, 0.45), (180, 0.25))
OLD_SALES_ORDER_ODDS = 0.19
FIRST_CREDIT_DAY = 45  # after the history starts, so there is something to credit
FIRST_INVOICE_NUMBER = 100_001
INVOICE_LAG_DAYS = Odds((0, 10), (1, 20), (2, 18), (3, 14), (5, 12), (7, 10), (10, 8), (14, 5), (21, 3))


@dataclass(frozen=True)
class OrderPlan:
    """Per row position (compact arrays: a million rows are planned at once)."""

    days: array[int]  # DateOrder (ordinal), ascending
    kinds: bytes
    invoice_days: array[int]  # DateInvoice of invoices and credits, else 0
    invoice_numbers: array[int]  # of invoices and credits, else 0


def plan_orders(run: Run) -> OrderPlan:
    rng = run.rng("plan")
    first_day = run.today - HISTORY_DAYS
    weights = [business_weight(day, first_day) for day in range(first_day, run.today + 1)]
    keys: list[int] = []
    for kind, kind_days in _order_days(rng, run, first_day, weights).items():
        keys += (day * 4 + kind for day in kind_days)
    keys.sort()
    days, kinds = array("l", (key >> 2 for key in keys)), bytes(key & 3 for key in keys)
    invoice_days = _invoice_days(rng, run.today, days, kinds)
    return OrderPlan(days, kinds, invoice_days, _invoice_numbers(invoice_days))


def _order_days(rng: random.Random, run: Run, first_day: int, weights: list[float]) -> dict[int, list[int]]:
    credits, purchase_orders = run.orders * CREDIT_PCT // 100, run.orders * PURCHASE_PCT // 100

    def draw(start: int, count: int) -> list[int]:
        window = weights[start - first_day :]
        cumulative = list(itertools.accumulate(window))
        return rng.choices(range(start, run.today + 1), cum_weights=cumulative, k=count)

    days: dict[int, list[int]] = {SALES_INVOICE: [], SALES_ORDER: []}
    for day in draw(first_day, run.orders - credits - purchase_orders):
        days[_sales_kind(rng, run.today - day)].append(day)
    days[SALES_CREDIT] = draw(first_day + FIRST_CREDIT_DAY, credits)
    days[PURCHASE_ORDER] = draw(first_day, purchase_orders)
    return days


def _sales_kind(rng: random.Random, age: int) -> int:
    odds = next((odds for max_age, odds in SALES_ORDER_ODDS_BY_AGE if age <= max_age), OLD_SALES_ORDER_ODDS)
    return SALES_ORDER if rng.random() < odds else SALES_INVOICE


def _invoice_days(rng: random.Random, today: int, days: array[int], kinds: bytes) -> array[int]:
    invoice_days = array("l", bytes(len(days) * array("l").itemsize))
    for position, (day, kind) in enumerate(zip(days, kinds, strict=True)):
        if kind == SALES_INVOICE:
            invoice_days[position] = min(today, day + INVOICE_LAG_DAYS.draw(rng))
        elif kind == SALES_CREDIT:
            invoice_days[position] = min(today, day + rng.randint(0, 2))
    return invoice_days


def _invoice_numbers(invoice_days: array[int]) -> array[int]:
    rows = len(invoice_days)
    by_invoice_date = sorted(day * rows + position for position, day in enumerate(invoice_days) if day)
    numbers = array("l", bytes(rows * array("l").itemsize))
    for rank, key in enumerate(by_invoice_date):
        numbers[key % rows] = FIRST_INVOICE_NUMBER + rank
    return numbers
