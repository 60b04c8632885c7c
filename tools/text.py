"""Substring filters: case-insensitive for all of Unicode, ``%``, ``_`` and ``\\`` literal."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case (SQLite gets a Unicode lower() in tools.db)."""
    return sa.func.lower(column).like(like_pattern(text), escape="\\")


def as_int(text: str) -> int | None:
    """``text`` as an id when it is one (free-text ``q`` matches ids exactly)."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() and len(stripped) < 10 else None
