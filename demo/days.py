"""Calendar helpers: days as ordinals, stored as naive UTC midnights, and business seasonality."""

from __future__ import annotations

import datetime
import functools

HISTORY_DAYS = 3 * 365

# Relative order intake per month: quiet July and Christmas, busy spring and autumn.
MONTH_WEIGHT = (0.85, 1.0, 1.15, 1.2, 1.15, 0.95, 0.4, 0.9, 1.2, 1.25, 1.15, 0.85)
LATE_DECEMBER_WEIGHT = 0.3
WEEKEND_WEIGHT = 0.15
YEARLY_GROWTH = 0.12


@functools.cache
def datetime_of(ordinal: int) -> datetime.datetime:
    return datetime.datetime.fromordinal(ordinal)


def datetime_or_none(ordinal: int | None) -> datetime.datetime | None:
    return None if ordinal is None else datetime_of(ordinal)


def business_weight(ordinal: int, first_day: int) -> float:
    day = datetime.date.fromordinal(ordinal)
    weight = MONTH_WEIGHT[day.month - 1]
    if day.month == 12 and day.day >= 20:
        weight = LATE_DECEMBER_WEIGHT
    if day.weekday() >= 5:
        weight *= WEEKEND_WEIGHT
    return weight * (1 + YEARLY_GROWTH * (ordinal - first_day) / 365)
