"""A stream: one kind of object of a source, fetched as pages of changes since a cursor.

A stream fetches (``pages``) and writes (``write``); the runner owns the transactions. Each page
is written in one transaction together with the cursor that follows it, so a cursor advances
only when its page has committed: a worker killed in the middle of a page loses that page's
transaction and nothing else, and the next run fetches that page again. Writes are upserts
keyed by the source's ids, so a page fetched twice (overlapping windows, a retried page) is
written once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from tqdm import tqdm

from connectors.core.errors import ConnectorError
from connectors.core.idmap import IdMap
from connectors.core.state import (
    full_run_owed,
    read_cursor,
    record_failure,
    record_success,
    save_cursor,
    settle_full_run,
    utc_now,
)


@dataclass(frozen=True)
class Page:
    records: Sequence[Any]
    cursor: str | None  # the stream's cursor once this page has committed
    total: int | None = None  # records this run will fetch, when the stream knows (progress)
    deleted: Sequence[str] = ()  # external ids the source no longer has


class Stream(ABC):
    name: ClassVar[str]

    @abstractmethod
    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        """The source's changes since ``cursor`` (everything when ``full``), page by page."""

    @abstractmethod
    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        """Map the page's records to rows and upsert them (pure mapping functions do the mapping)."""


def run_stream(
    engine: sa.Engine, source: str, stream: Stream, *, full: bool = False, progress: bool = False
) -> int:
    """Sync one stream; returns the records written. Errors are recorded, then raised.

    With ``progress``, a first sync of the stream (no cursor yet) shows a progress bar on stderr.
    A stream a ``--full`` run that died has not finished yet runs full (``owe_full_runs``), and
    owes nothing once it finishes.
    """
    with engine.connect() as conn:
        cursor = read_cursor(conn, source, stream.name)
        full = full or full_run_owed(conn, source, stream.name)
    written = 0
    bar = tqdm(desc=f"{source} {stream.name}", unit=" obj", disable=not progress or cursor is not None)
    try:
        for page in stream.pages(cursor, full=full):
            with writing(engine) as conn:
                stream.write(conn, IdMap(conn, source, utc_now()), page)
                save_cursor(conn, source, stream.name, page.cursor)
            written += len(page.records)
            bar.total = bar.total or page.total
            bar.update(len(page.records))
    except ConnectorError as exc:
        with writing(engine) as conn:
            record_failure(conn, source, stream.name, str(exc))
        raise
    finally:
        bar.close()
    with writing(engine) as conn:
        record_success(conn, source, stream.name)
        settle_full_run(conn, source, stream.name)
    return written


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction; on SQLite the write lock is taken up front (``BEGIN IMMEDIATE``)."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
