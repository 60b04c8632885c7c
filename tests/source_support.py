"""Scaffolding of the tests of source-backed tenants synced from a loopback double (Wisedat,
Asperion): a tenant database on SQLite or PostgreSQL, secrets by name, one sync, and the server
over the synced databases."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from connectors.core import (
    Secrets,
    SourceContext,
    SourceNotFound,
    SourceRejected,
    SourceSettings,
    TenantReport,
    sync_tenant,
)
from connectors.core.secrets import secret_name
from tests.support import (
    LiveServer,
    mcp_session,
    postgres_database,
    postgres_reachable,
    require_service,
    rest_client,
    start_server,
)
from tools.db import create_tenant_engine


def tenant_database(kind: str, stack: ExitStack, tmp: pytest.TempPathFactory, label: str) -> str:
    """An empty database for a tenant: a SQLite file, or a PostgreSQL database dropped with ``stack``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp.mktemp(label) / label}.db"
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    return stack.enter_context(postgres_database(label))


def tenant_secrets(tenant: str, values: dict[str, str]) -> Secrets:
    return Secrets({secret_name(tenant, name): value for name, value in values.items()})


def sync_once(
    database: str, tenant: str, settings: SourceSettings, secrets: Secrets, *, full: bool = False
) -> TenantReport:
    engine = create_tenant_engine(database, statement_timeout_ms=60_000)
    try:
        return sync_tenant(SourceContext(tenant, settings, secrets, engine), full=full)
    finally:
        engine.dispose()


def serve_tenants(
    stack: ExitStack,
    tmp: pytest.TempPathFactory,
    databases: dict[str, str],
    sources: dict[str, SourceSettings],
    home_currency: str,
) -> LiveServer:
    """The server over the synced databases, stopped with ``stack``."""
    server = start_server(
        Path(tmp.mktemp("server")),
        databases,
        sources=sources,
        home_currency=dict.fromkeys(databases, home_currency),
    )
    stack.callback(server.stop)
    return server


async def assert_not_in_source(
    server: LiveServer, tenant: str, path: str, tool: str, source: str, **params: Any
) -> None:
    """The view answers ``not_in_source`` naming ``source`` on both doors, not an empty list."""
    async with rest_client(server, tenant) as rest:
        response = await rest.get(path, params=params)
    assert response.status_code == 404 and response.json()["code"] == "not_in_source"
    assert source in response.json()["message"]
    async with mcp_session(server, tenant) as session:
        result = await session.call_tool(tool, params)
    assert result.is_error and source in result.content[0].text  # type: ignore[union-attr]


def crash_then_resume(
    sync: Callable[[], object], double: Any, fail: str, log: list[str], *, status: int = 404
) -> list[str]:
    """Sync with the request ``fail`` answered ``status`` once (404, or 400 where a 404 would mean
    "deleted"), so the run dies there; sync again. Returns the requests of the second run
    (``log`` is the double's request log)."""
    double.fail_once, double.fail_status = fail, status
    with pytest.raises(SourceNotFound if status == 404 else SourceRejected):
        sync()
    log.clear()
    sync()
    return list(log)


def query(database: str, sql: str) -> list[Any]:
    """The rows of ``sql`` (the test's own oracle) in the tenant database."""
    engine = create_tenant_engine(database)
    try:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql(sql).all())
    finally:
        engine.dispose()
