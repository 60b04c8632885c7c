"""Numbers as the sources send them (a JSON number, a numeric string, empty or missing) read into
the Decimals our rows keep."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tools.wire import money as to_the_cent


def dec(value: Any) -> Decimal:
    """A source's number as a Decimal; empty or missing is 0."""
    if value is None or value == "":
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def money(value: Any) -> Decimal:
    """A source's amount to the cent by the rule every amount we store follows (half up, never
    -0.00)."""
    return to_the_cent(dec(value))
