"""One generator run: the seed, the size, the day it pretends to be, the home currency."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from tools.reference import CURRENCIES

RATE_TO_SEK: dict[int, Decimal] = {currency.id: currency.rate_to_sek for currency in CURRENCIES}
CURRENCY_ID: dict[str, int] = {currency.iso_code: currency.id for currency in CURRENCIES}


@dataclass(frozen=True)
class Run:
    seed: int
    orders: int
    today: int  # date ordinal
    currency_id: int
    id_offset: int

    @classmethod
    def of(cls, *, seed: int, orders: int, today: datetime.date, currency: str, id_offset: int) -> Run:
        if currency not in CURRENCY_ID:
            raise ValueError(f"unknown default currency {currency!r}; use one of {sorted(CURRENCY_ID)}")
        if orders < 1:
            raise ValueError("orders must be at least 1")
        return cls(seed, orders, today.toordinal(), CURRENCY_ID[currency], id_offset)

    def rng(self, stream: str) -> random.Random:
        """An independent, reproducible random stream per part of the data (seeded via SHA-512)."""
        return random.Random(f"asstio-demo/{self.seed}/{stream}")

    def ids(self, count: int) -> range:
        return range(self.id_offset + 1, self.id_offset + 1 + count)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
