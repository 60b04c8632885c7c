"""Running a sync: which source a tenant has, the tenant lock, its streams in order, the report.

A source kind maps to the import path of its factory, loaded only when a tenant uses it, so
the core never imports a connector. A factory takes a ``SourceContext`` and returns a
``Source``: its streams in dependency order (parties before the documents that name them).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from connectors.core.config import SourceSettings
from connectors.core.errors import ConfigurationError
from connectors.core.locks import tenant_lock
from connectors.core.secrets import Secrets
from connectors.core.state import owe_full_runs
from connectors.core.streams import Stream, run_stream, writing
from tools import balances, search
from tools.schema import metadata

SOURCE_KINDS: dict[str, str] = {
    "fortnox": "connectors.fortnox.source:build_source",
    "maventa": "connectors.maventa.source:build_source",
    "wisedat": "connectors.wisedat.source:build_source",
    "asperion": "connectors.asperion.source:build_source",
}


@dataclass(frozen=True)
class SourceContext:
    tenant: str
    config: SourceSettings
    secrets: Secrets
    engine: sa.Engine
    rate_limit_storage: str = "memory://"


class Source(Protocol):
    name: str
    requests: int  # HTTP requests made so far
    retries: int  # of which retries (429, 5xx, unreachable)

    def streams(self) -> Sequence[Stream]: ...

    def close(self) -> None: ...


SourceFactory = Callable[[SourceContext], Source]


@dataclass
class TenantReport:
    tenant: str
    locked: bool = False
    written: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        objects = sum(self.written.values())
        return f"{objects} objects in {self.seconds:.1f} s, {self.requests} requests"


def source_factory(kind: str) -> SourceFactory:
    if kind not in SOURCE_KINDS:
        raise ConfigurationError(f"unknown source kind {kind!r}: one of {', '.join(sorted(SOURCE_KINDS))}")
    module, _, name = SOURCE_KINDS[kind].partition(":")
    factory: SourceFactory = getattr(importlib.import_module(module), name)
    return factory


def sync_tenant(context: SourceContext, *, full: bool = False, progress: bool = False) -> TenantReport:
    """One sync run of one tenant; raises ``SyncLocked`` when another worker holds the tenant."""
    report, started = TenantReport(context.tenant), time.monotonic()
    with tenant_lock(context.engine, context.tenant):
        # Under the lock: two workers creating the schema of a new database at once race (on
        # SQLite the second one's CREATE TABLE fails), and the one that is skipped needs none.
        metadata.create_all(context.engine)
        with context.engine.begin() as conn:
            search.create_search_indexes(conn)
        # A database made before Orders.PaidAmount: upgraded once, as `index-search` does (write
        # lock or advisory lock first, then the vacuum on PostgreSQL).
        balances.install_on(context.engine)
        source = source_factory(context.config.kind)(context)
        try:
            streams = source.streams()
            if full:  # remembered, so that a run that dies is finished full by the next one
                with writing(context.engine) as conn:
                    owe_full_runs(conn, source.name, [stream.name for stream in streams])
            for stream in streams:
                report.written[stream.name] = run_stream(
                    context.engine, source.name, stream, full=full, progress=progress
                )
        finally:
            report.requests, report.retries = source.requests, source.retries
            source.close()
    report.seconds = time.monotonic() - started
    return report
