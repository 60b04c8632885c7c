"""The tenant's home currency and the rates that convert document currencies into it.

The ERP keeps one rate per currency (``Currency.RateToSek``). A currency's rate to the home
currency is ``RateToSek / RateToSek(home)`` rounded to six decimals; an amount converts as
``amount x rate`` rounded half-up to the cent. Summaries convert each currency's sum once,
so a reader can redo every home-currency figure from the rates the company profile shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from tools import schema as s
from tools.errors import AsstioError
from tools.view import ViewContext

DEFAULT_HOME_CURRENCY = "SEK"
RATE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rate:
    currency_id: int
    iso_code: str
    name: str
    to_home: Decimal


@dataclass(frozen=True)
class HomeCurrency:
    iso_code: str
    rates: Mapping[int, Rate]

    def rate(self, currency_id: int) -> Rate:
        return self.rates[currency_id]

    def convert(self, amount: Decimal, currency_id: int) -> Decimal:
        return to_home(amount, self.rates[currency_id].to_home)


def to_home(amount: Decimal, rate: Decimal) -> Decimal:
    return (Decimal(amount) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def home_iso_code(ctx: ViewContext) -> str:
    return str(ctx.options.get("homeCurrency", DEFAULT_HOME_CURRENCY))


def home_currency(conn: sa.Connection, ctx: ViewContext) -> HomeCurrency:
    """The tenant's home currency with every currency's rate into it (the small Currency table)."""
    cur = s.currencies
    rows = conn.execute(sa.select(cur.c.Id, cur.c.IsoCode, cur.c.Name, cur.c.RateToSek)).all()
    return _home_of(home_iso_code(ctx), rows)


def _home_of(iso_code: str, rows: Iterable[Any]) -> HomeCurrency:
    by_code = {row.IsoCode: Decimal(row.RateToSek) for row in rows if row.RateToSek}
    if iso_code not in by_code:
        raise AsstioError(f"The tenant's home currency {iso_code} is not in its Currency table")
    home = by_code[iso_code]
    rates = {
        row.Id: Rate(
            row.Id,
            row.IsoCode,
            row.Name,
            (Decimal(row.RateToSek) / home).quantize(RATE_PLACES, ROUND_HALF_UP),
        )
        for row in rows
        if row.RateToSek
    }
    return HomeCurrency(iso_code, rates)
