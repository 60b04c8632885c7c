"""Exact money and quantity arithmetic for the generator.

Amounts are kept as integer cents and quantities as integer thousandths while generating, so
line sums and order totals are exact; they become ``Decimal`` only when a row is written.
``round_half_up`` rounds like ``Decimal.quantize(..., ROUND_HALF_UP)``: ties away from zero.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal

MILLI = 1000
RATE_PLACES = Decimal("0.0001")


def round_half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def quantity(milli: int) -> Decimal:
    return Decimal(milli).scaleb(-3)


@functools.cache
def vat_rate(vat_pct: int) -> Decimal:
    """25 -> 0.25"""
    return Decimal(vat_pct).scaleb(-2)


@functools.cache
def discount_percent(discount_pct: int) -> Decimal:
    """5 -> 5.00"""
    return Decimal(discount_pct * 100).scaleb(-2)


def line_sum_ex_vat(qty_milli: int, price_cents: int, discount_pct: int) -> int:
    """``round(qty * price * (1 - discount / 100), 2)`` in cents."""
    return round_half_up(qty_milli * price_cents * (100 - discount_pct), MILLI * 100)


def line_sum_inc_vat(sum_ex_vat_cents: int, vat_pct: int) -> int:
    """``round(sum_ex_vat * (1 + vat_rate), 2)`` in cents."""
    return round_half_up(sum_ex_vat_cents * (100 + vat_pct), 100)


def unit_price_sek(price_cents: int, rate_to_sek: Decimal) -> Decimal:
    return (from_cents(price_cents) * rate_to_sek).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def convert_cents(cents: int, from_rate: Decimal, to_rate: Decimal) -> int:
    """An amount in one currency expressed in another, through their rates to SEK."""
    exact = Decimal(cents) * from_rate / to_rate
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
