"""Tenant databases: one engine per tenant, read-only connections for the views.

Guardrails live here, not in the views: connections made read-only once when they are opened
(a second, writable pool serves only the matching write endpoints), a statement time limit, and
an unreachable database turned into ``ServiceUnavailable`` so callers get a 503 envelope instead
of a crash. No Python function is registered on SQLite: text is searched through the folded
search tables (``tools.search``), so SQLite evaluates every statement itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from tools.cursor_rows import connection_only
from tools.errors import ServiceUnavailable

log = logging.getLogger("asstio.db")
T = TypeVar("T")
# Address space (not memory) a SQLite connection may map of its database file.
MMAP_BYTES = 1 << 34


def _install_sqlite_guards(engine: sa.Engine, statement_timeout_ms: int, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 5000")
        # Read pages straight from the operating system's cache rather than copying each
        # one into SQLite's own (2 MB by default): a search that checks thousands of rows
        # by key reads that many scattered pages.
        dbapi_conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        if read_only:
            dbapi_conn.execute("PRAGMA query_only = ON")

    # retval=True: registered as it is, not wrapped, so tools.cursor_rows knows it.
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    @connection_only
    def on_execute(
        conn: sa.Connection, _cursor: Any, statement: str, parameters: Any, *_args: Any
    ) -> tuple[str, Any]:
        deadline = time.monotonic() + statement_timeout_ms / 1000
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        return statement, parameters


POOL_TIMEOUT_SECONDS = 2
# Connections a tenant engine keeps open: one per thread the runner gives a tenant at most
# (``TenantDatabases.threads``). A pool smaller than that closes the connections it
# lends beyond its size when they come back, so under load every call past the pool's size
# opened a connection (and, on SQLite, prepared its statements again).
POOL_SIZE = 20
# Threads a SQLite tenant's calls run on at once. Its statements run inside this process, and
# what a call does besides (mapping rows, writing JSON) holds the GIL: past two threads, more
# threads only contend for the GIL. Measured on a 1,000,000-order tenant, 8 callers, first
# pages: 20 threads cost 1.4-1.5x DBHub's CPU per call, 2 threads 1.2x, 1 thread 1.0-1.1x.
# Two, so that one slow statement does not hold up every other call of the tenant.
# (PostgreSQL answers from its own processes: a thread waiting for it holds no GIL.)
SQLITE_THREADS = 2
# A link that stops answering: connecting gives up after 3 s; TCP keepalive probes an idle
# connection after 5 s; data unacknowledged for 5 s (tcp_user_timeout) ends the connection.
LINK_TIMEOUTS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,
}


def create_tenant_engine(
    url: str, *, statement_timeout_ms: int = 10_000, read_only: bool = False
) -> sa.Engine:
    """An engine for one tenant database (SQLite file or PostgreSQL); with ``read_only`` every
    connection refuses writes from the moment it is opened."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")  # SQLAlchemy's one-connection pool
        pooling = (
            {}
            if in_memory
            else {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_SECONDS}
        )
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 5}, hide_parameters=True, **pooling
        )
        _install_sqlite_guards(engine, statement_timeout_ms, read_only)
        return engine
    if parsed.drivername in {"postgresql", "postgres"}:  # postgres:// as Heroku and others write it
        parsed = parsed.set(drivername="postgresql+psycopg")
    # JIT compilation costs more than it saves on these short, index-driven statements.
    options = f"-c statement_timeout={statement_timeout_ms} -c jit=off"
    # A read-only engine runs each statement in its own read-only transaction (autocommit): no
    # BEGIN before a call's first statement and no ROLLBACK when the connection goes back to the
    # pool, and no ping before lending it (``TenantDatabases.read`` runs a read once more when
    # its connection turns out dead instead). Each statement had its own snapshot already (READ
    # COMMITTED). Three round trips fewer per call: a first page on PostgreSQL cost 4.15 ms of
    # our CPU per call before, 2.86 ms after.
    reading = {"isolation_level": "AUTOCOMMIT"} if read_only else {}
    if read_only:
        options += " -c default_transaction_read_only=on"
    return sa.create_engine(
        parsed,
        pool_pre_ping=not read_only,
        **reading,
        hide_parameters=True,  # callers' search text never reaches a log through an error
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"options": options, **LINK_TIMEOUTS},
    )


class TenantDatabases:
    """The tenant registry's databases: iid -> engine, created on first use."""

    def __init__(self, urls: Mapping[str, str], *, statement_timeout_ms: int = 10_000) -> None:
        self._urls = dict(urls)
        self._timeout = statement_timeout_ms
        self._engines: dict[tuple[str, bool], sa.Engine] = {}
        self._lock = threading.Lock()

    @property
    def tenants(self) -> list[str]:
        return sorted(self._urls)

    def knows(self, tenant: str) -> bool:
        return tenant in self._urls

    def threads(self, tenant: str) -> int:
        """How many of the tenant's calls run at once (each on a thread with its connection)."""
        return SQLITE_THREADS if sa.make_url(self._urls[tenant]).get_backend_name() == "sqlite" else POOL_SIZE

    def engine(self, tenant: str, *, writable: bool = False) -> sa.Engine:
        """The tenant's read-only engine, or its writable one."""
        with self._lock:
            if (tenant, writable) not in self._engines:
                self._engines[tenant, writable] = create_tenant_engine(
                    self._urls[tenant], statement_timeout_ms=self._timeout, read_only=not writable
                )
            return self._engines[tenant, writable]

    @contextmanager
    def reading(self, tenant: str) -> Iterator[sa.Connection]:
        """A read-only connection to the tenant's database (rolled back when it returns to the pool)."""
        with self._unavailable_as_503(tenant), self.engine(tenant).connect() as conn:
            yield conn

    def read(self, tenant: str, work: Callable[[sa.Connection], T]) -> T:
        """``work(conn)`` on a read-only connection of the tenant; run once more, on a new
        connection, when the database dropped the first (it restarted, a link broke): a read
        can run twice, and the pool lends its connections without pinging each first. The
        pool's other connections, as old, are let go then too."""
        engine = self.engine(tenant)
        with self._unavailable_as_503(tenant):
            try:
                with engine.connect() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                log.warning("tenant %s database: a pooled connection was dropped; reading again", tenant)
            engine.dispose()
            with engine.connect() as conn:
                return work(conn)

    @contextmanager
    def writing(self, tenant: str) -> Iterator[sa.Connection]:
        """One transaction on the tenant's database (the matching write endpoints only)."""
        engine = self.engine(tenant, writable=True)
        with self._unavailable_as_503(tenant), engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                # Take the write lock up front: two deferred transactions that both read and
                # then write deadlock in SQLite and fail at once instead of waiting their turn.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    @contextmanager
    def _unavailable_as_503(self, tenant: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.TimeoutError as exc:  # every pooled connection is busy (or stuck)
            log.warning("tenant %s database: %s", tenant, exc)
            raise ServiceUnavailable(f"The database of tenant '{tenant}' is busy; try again") from exc
        except sa.exc.OperationalError as exc:
            # The cause for the operator (the driver's message, never the statement's parameters).
            log.warning("tenant %s database: %s", tenant, str(exc.orig).strip().splitlines()[0][:300])
            if _is_timeout(exc):
                raise ServiceUnavailable(
                    "The query took longer than the server's time limit; narrow the filters"
                ) from exc
            raise ServiceUnavailable(f"The database of tenant '{tenant}' is unavailable") from exc

    def ping(self, tenant: str) -> None:
        with self.reading(tenant) as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _is_timeout(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "interrupted" in text or "statement timeout" in text


def triggers_present(conn: sa.Connection, names: list[str], tables: Sequence[sa.Table]) -> set[str]:
    """Which of the triggers ``names`` on ``tables`` the database has. Asked on the driver's own
    cursor: a catalog read once per connection, not one of the views' statements (their events
    and compiled cache see only what answers the question)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            regclasses = ", ".join("to_regclass(%s)" for _ in tables)
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s) "
                f"AND tgrelid IN ({regclasses})",
                (names, *(f'"{table.name}"' for table in tables)),
            )
        else:
            marks = ", ".join("?" for _ in names)
            cursor.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})", names
            )
        return {str(row[0]) for row in cursor.fetchall()}
    finally:
        cursor.close()
