"""One worker per tenant: a PostgreSQL advisory lock, or a file lock beside a SQLite database.

The lock is tried, never waited for: a second worker started for a tenant that is being synced
raises ``SyncLocked`` at once and the run reports that the tenant was skipped.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout

from connectors.core.errors import SyncLocked


@contextmanager
def tenant_lock(engine: sa.Engine, tenant: str) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, tenant):
            yield
    else:
        with _file_lock(engine, tenant):
            yield


def lock_key(tenant: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    digest = hashlib.blake2b(f"asstio-sync:{tenant}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _advisory_lock(engine: sa.Engine, tenant: str) -> Iterator[None]:
    key = lock_key(tenant)
    with engine.connect() as conn:
        if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one():
            raise SyncLocked(f"tenant {tenant} is being synced by another worker")
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
            conn.commit()


@contextmanager
def _file_lock(engine: sa.Engine, tenant: str) -> Iterator[None]:
    lock = FileLock(_lock_path(engine, tenant))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise SyncLocked(f"tenant {tenant} is being synced by another worker") from exc
    try:
        yield
    finally:
        lock.release()


def _lock_path(engine: sa.Engine, tenant: str) -> Path:
    database = engine.url.database
    if database and database != ":memory:":
        return Path(database).with_name(Path(database).name + ".sync-lock")
    return (
        Path(tempfile.gettempdir()) / f"asstio-sync-{hashlib.sha256(tenant.encode()).hexdigest()[:16]}.lock"
    )
