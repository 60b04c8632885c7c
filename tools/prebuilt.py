"""Statements built once and reused: a view's statement for one filter shape is built on its
first call; later calls execute the same statement object, so SQLAlchemy neither builds the
expression again nor walks it for a new cache key, and its compiled cache answers.

A key names everything the statement depends on (the view, the database's dialect, the filter
values it embeds). A statement whose building reads the database (a name or free-text filter
looks its matches up first) has no key and is built per call. Values that change per call are
bound parameters (``sa.bindparam``) given to ``execute`` instead; then the key is the shape.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")

MAX_STATEMENTS = 1024


class Statements:
    """A bounded map of built statements (least recently used goes first), safe across threads."""

    def __init__(self, maxsize: int = MAX_STATEMENTS) -> None:
        self.maxsize = maxsize
        self._built: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: Hashable | None, build: Callable[[], T]) -> T:
        if key is None:
            return build()
        known = self.known(key)
        if known is not None:
            return known  # type: ignore[no-any-return]
        statement = build()
        self.put(key, statement)
        return statement

    def known(self, key: Hashable) -> Any:
        """What was built for ``key``, or None."""
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        return None

    def values(self) -> list[Any]:
        with self._lock:
            return list(self._built.values())

    def put(self, key: Hashable, built: Any) -> None:
        with self._lock:
            self.builds += 1
            self._built[key] = built
            if len(self._built) > self.maxsize:
                self._built.popitem(last=False)


STATEMENTS = Statements()


def prebuilt(key: Hashable | None, build: Callable[[], T]) -> T:
    """The statement built for ``key`` (by ``build``, once); ``build()`` itself when no key."""
    return STATEMENTS.get(key, build)


def frozen(value: Any) -> Hashable:
    """``value`` (a params dump: dicts, lists, scalars) as a hashable key."""
    if isinstance(value, dict):
        return tuple(sorted((name, frozen(item)) for name, item in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(frozen(item) for item in value)
    return cast(Hashable, value)
