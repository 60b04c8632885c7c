"""Scaffolding of the tests of source-backed tenants synced from a loopback double (Wisedat,
Asperion): a tenant database on SQLite or PostgreSQL, secrets by name, one sync, and the server
over the synced databases."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from connectors.core import Secrets, SourceContext, SourceSettings, TenantReport, sync_tenant
from connectors.core.secrets import secret_name
from tests.support import LiveServer, postgres_database, postgres_reachable, require_service, start_server
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
