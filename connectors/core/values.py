"""Numbers as the sources send them (a JSON number, a numeric string, empty or missing) read into
the Decimals our rows keep."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def dec(value: Any) -> Decimal:
    """A source's number as a Decimal; empty or missing is 0."""
    if value is None or value == "":
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def money(value: Any) -> Decimal:
    """A source's amount rounded to the cent, half up (how the ERPs round what they store)."""
    return dec(value).quantize(CENT, ROUND_HALF_UP)
