"""Writing a page of rows: upserts by primary key on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` or, where the primary key exists, overwrite their other columns."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    keys = [column.name for column in table.primary_key.columns]
    changing = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=changing) if changing else stmt
    conn.execute(stmt if changing else stmt.on_conflict_do_nothing(index_elements=keys), list(rows))


def insert_missing(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` whose primary key is not there yet; leave the others as they are."""
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        keys = [column.name for column in table.primary_key.columns]
        conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=keys), list(rows))
