"""Text filters on short codes; names and descriptions are searched through ``tools.search``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def like_pattern(text: str) -> str:
    """``%text%`` lower-cased, with ``%``, ``_`` and ``\\`` literal (escape ``\\``)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text``, case ignored for ASCII letters on every database (SQLite's
    own ``lower()``): for codes (currency, invoice or org numbers). Names and descriptions
    are searched with ``tools.search``, which ignores case for all of Unicode."""
    return sa.func.lower(column).like(like_pattern(text), escape="\\")


def as_int(text: str) -> int | None:
    """``text`` as an id when it is one (free-text ``q`` matches ids exactly)."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() and len(stripped) < 10 else None
