"""Each stream's sync state: its cursor, its last success and its last error; and whether a
``--full`` run that died before the stream finished still owes it a full run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from connectors.core.rows import insert_missing
from tools.source_schema import sync_full_pending as pending
from tools.source_schema import sync_state as state

MAX_ERROR = 500


def utc_now() -> datetime:
    """Naive UTC, as every DateTime column of the schema."""
    return datetime.now(UTC).replace(tzinfo=None)


def read_cursor(conn: sa.Connection, source: str, stream: str) -> str | None:
    return conn.execute(
        sa.select(state.c.Cursor).where(state.c.Source == source, state.c.Stream == stream)
    ).scalar_one_or_none()


def save_cursor(conn: sa.Connection, source: str, stream: str, cursor: str | None) -> None:
    """Call inside the page's transaction: the cursor moves exactly when the page commits."""
    _ensure(conn, source, stream)
    conn.execute(_row(source, stream).values(Cursor=cursor))


def record_success(conn: sa.Connection, source: str, stream: str) -> None:
    _ensure(conn, source, stream)
    conn.execute(_row(source, stream).values(LastSuccessAt=utc_now(), LastError=None, LastErrorAt=None))


def record_failure(conn: sa.Connection, source: str, stream: str, message: str) -> None:
    _ensure(conn, source, stream)
    conn.execute(_row(source, stream).values(LastErrorAt=utc_now(), LastError=message[:MAX_ERROR]))


def owe_full_runs(conn: sa.Connection, source: str, streams: Sequence[str]) -> None:
    """A ``--full`` run begins: each of ``streams`` runs full until it has finished a run."""
    insert_missing(conn, pending, [{"Source": source, "Stream": name} for name in streams])


def full_run_owed(conn: sa.Connection, source: str, stream: str) -> bool:
    """True while a ``--full`` run that began has not seen ``stream`` finish a (full) run."""
    owed = sa.select(pending.c.Stream).where(pending.c.Source == source, pending.c.Stream == stream)
    return conn.execute(owed).first() is not None


def settle_full_run(conn: sa.Connection, source: str, stream: str) -> None:
    conn.execute(sa.delete(pending).where(pending.c.Source == source, pending.c.Stream == stream))


def _ensure(conn: sa.Connection, source: str, stream: str) -> None:
    insert_missing(conn, state, [{"Source": source, "Stream": stream}])


def _row(source: str, stream: str) -> sa.Update:
    return sa.update(state).where(state.c.Source == source, state.c.Stream == stream)
