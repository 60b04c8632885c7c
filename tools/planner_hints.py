"""Hints to the query planners (SQLite's and PostgreSQL's), one rule each, for every view.

Each helper keeps a page driven by the sort order's index on a million-order tenant; the
docstrings say which planner misstep it prevents.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def looked_up(column: sa.Column[Any], key: sa.ColumnElement[int]) -> sa.ScalarSelect[Any]:
    """``column`` of the row whose Id is ``key`` (null when none), read for the page's rows only.

    A subquery rather than a join: a join hands the planner another table to drive from
    (SQLite then walks every customer or status and sorts), the page wants Orders' date index."""
    return sa.select(column).where(column.table.c.Id == key).scalar_subquery()


def unindexed_status(conn: sa.Connection, column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """On SQLite, the status id as an expression no index matches (``+ 0``).

    Several statuses share a flag and an index led by the status gives the date order for one
    status only, yet SQLite's planner picks it and sorts every matching order (seconds on a
    million orders); kept off it, it walks the date index and stops after one page. PostgreSQL
    plans well from its statistics, which the expression would hide from it."""
    return column + 0 if conn.dialect.name == "sqlite" else column
