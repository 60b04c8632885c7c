"""Calendar periods for summaries: where a period starts, its label, the comparison range, and
the SQL expression that puts a datetime column into its period (SQLite and PostgreSQL)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import sqlalchemy as sa

Period = Literal["day", "week", "month", "quarter", "year"]
CompareTo = Literal["previousPeriod", "previousYear"]
MONTHS: dict[Period, int] = {"month": 1, "quarter": 3, "year": 12}


def period_start(day: date, period: Period) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def next_start(start: date, period: Period) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return add_months(start, MONTHS[period])


def label(start: date, period: Period) -> str:
    """2026-11-20, 2026-W47 (ISO week), 2026-11, 2026-Q4, 2026."""
    if period == "day":
        return start.isoformat()
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{start:%Y-%m}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def starts(first: date, last: date, period: Period) -> list[date]:
    """The start of every period from the one holding ``first`` to the one holding ``last``."""
    result, start = [], period_start(first, period)
    while start <= last:
        result.append(start)
        start = next_start(start, period)
    return result


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the last day of a month stays the last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    is_last = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if is_last else min(day.day, last))


@dataclass(frozen=True)
class Shift:
    """How far back the comparison range lies: whole months, or days (day and week periods)."""

    months: int = 0
    days: int = 0

    def back(self, day: date) -> date:
        return add_months(day, -self.months) if self.months else day - timedelta(days=self.days)

    def forward(self, day: date) -> date:
        return add_months(day, self.months) if self.months else day + timedelta(days=self.days)


def comparison_shift(first: date, last: date, period: Period, compare_to: CompareTo) -> Shift:
    """previousYear: a year back (52 weeks for weekly figures, so weekdays line up);
    previousPeriod: back by as many periods as the range spans."""
    if compare_to == "previousYear":
        return Shift(days=364) if period == "week" else Shift(months=12)
    count = len(starts(first, last, period))
    if period in MONTHS:
        return Shift(months=count * MONTHS[period])
    return Shift(days=count * (7 if period == "week" else 1))


def start_in_sql(column: sa.ColumnElement[Any], period: Period, dialect: str) -> sa.ColumnElement[Any]:
    """The start of the period holding ``column`` (text on SQLite, a date on PostgreSQL)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc(period, column), sa.Date)
    if period == "day":
        return sa.func.date(column)
    if period == "week":
        return sa.func.date(column, "weekday 0", "-6 days")
    if period == "month":
        return sa.func.strftime("%Y-%m-01", column)
    if period == "quarter":
        month = sa.cast(sa.func.strftime("%m", column), sa.Integer)
        back = sa.literal("-") + sa.cast((month - 1) % 3, sa.String) + sa.literal(" months")
        return sa.func.date(column, "start of month", back)
    return sa.func.strftime("%Y-01-01", column)


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
