"""Random helpers for the generator's hot paths (one ``random()`` call per draw)."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Odds(Generic[T]):
    """A weighted choice among a few values with integer weights."""

    def __init__(self, *weighted: tuple[T, int]) -> None:
        self._table = tuple(value for value, weight in weighted for _ in range(weight))

    def draw(self, rng: random.Random) -> T:
        return self._table[int(rng.random() * len(self._table))]


def pick(rng: random.Random, items: Sequence[T], cumulative_weights: Sequence[float]) -> T:
    """Like ``rng.choices(items, cum_weights=...)[0]``, without its per-call set-up."""
    return items[bisect.bisect(cumulative_weights, rng.random() * cumulative_weights[-1], 0, len(items) - 1)]


def popularity(rng: random.Random, count: int, exponent: float) -> list[float]:
    """Cumulative Zipf-like weights in a shuffled order (for ``pick``): a few favourites, a long
    tail."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    return list(itertools.accumulate(1 / rank**exponent for rank in ranks))
