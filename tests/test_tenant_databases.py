"""Tenant connections: the views' connections refuse writes from the moment they are opened;
only the matching write endpoints get a writable one."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_HIT

from demo.tenants import seed_database
from mcp_server.params import parse_params
from mcp_server.rendering import wire_value
from tests.support import (
    PG_ADMIN_URL,
    SAMPLE_ARGUMENTS,
    TODAY,
    postgres_database,
    postgres_reachable,
    require_service,
)
from tools import schema as s
from tools.db import TenantDatabases
from tools.errors import ServiceUnavailable
from tools.view import View, ViewContext, registered_views

# SQLite: "attempt to write a readonly database"; PostgreSQL: "cannot execute UPDATE in a
# read-only transaction".
REFUSED = (ServiceUnavailable, sa.exc.InternalError)


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest) -> TenantDatabases:
    return TenantDatabases(request.getfixturevalue(f"{request.param}_tenants"))


def touch_a_product(conn: sa.Connection) -> None:
    """A write that changes nothing: it still needs a writable connection."""
    products = s.products
    first = conn.execute(sa.select(products.c.Id).order_by(products.c.Id).limit(1)).scalar_one()
    conn.execute(sa.update(products).where(products.c.Id == first).values(Description=products.c.Description))


def test_a_reading_connection_refuses_writes(databases: TenantDatabases) -> None:
    for _ in range(3):  # every pooled connection, not only a fresh one
        with pytest.raises(REFUSED), databases.reading("demo") as conn:
            touch_a_product(conn)


def test_a_reading_connection_refuses_writes_even_in_a_transaction_it_commits(
    databases: TenantDatabases,
) -> None:
    with pytest.raises(REFUSED), databases.reading("demo") as conn, conn.begin():
        touch_a_product(conn)


def test_a_writing_connection_writes_and_reading_stays_read_only_afterwards(
    databases: TenantDatabases,
) -> None:
    with databases.writing("demo") as conn:
        touch_a_product(conn)
    with pytest.raises(REFUSED), databases.reading("demo") as conn:
        touch_a_product(conn)
    with databases.reading("demo") as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.products)).scalar_one() > 0


# What the runner keeps for the app's lifetime (e.g. that a tenant has its e-invoice tables),
# one per set of databases, as one server holds it across calls.
APP_STATE: dict[int, dict[str, Any]] = {}


def run_view(databases: TenantDatabases, view: View[Any, Any], arguments: dict[str, Any]) -> Any:
    ctx = ViewContext(tenant="demo", sub="t", today=TODAY, state=APP_STATE.setdefault(id(databases), {}))
    with databases.reading("demo") as conn:
        return wire_value(view.query(conn, ctx, parse_params(view.params, arguments)))


def test_every_read_view_reuses_its_compiled_statements_on_the_next_call(databases: TenantDatabases) -> None:
    """Statements are compiled once per shape: the next call with other values is a cache hit."""
    views = {view.name: view for view in registered_views()}
    seen: list[Any] = []

    def record(*args: Any) -> None:
        seen.append(args[4].cache_hit)

    event.listen(databases.engine("demo"), "after_cursor_execute", record)
    for name, samples in SAMPLE_ARGUMENTS.items():
        first = run_view(databases, views[name], samples[0])
        seen.clear()
        if isinstance(first, dict) and first.get("nextCursor"):
            run_view(databases, views[name], samples[0] | {"cursor": first["nextCursor"]})
            seen.clear()
            run_view(databases, views[name], samples[0] | {"cursor": first["nextCursor"]})
        else:
            run_view(databases, views[name], samples[0])
        assert seen and all(hit is CACHE_HIT for hit in seen), name


def test_a_read_after_the_database_dropped_every_pooled_connection_is_answered() -> None:
    """The pool lends connections without pinging them: when the database has dropped them (a
    restart, a broken link), the read runs again on a new connection instead of failing."""
    require_service("PostgreSQL", postgres_reachable())
    with postgres_database("dropped") as url:
        seed_database(url, seed=9, orders=30, today=TODAY, draft_lines=5)
        databases = TenantDatabases({"demo": url})
        count = sa.select(sa.func.count()).select_from(s.products)
        with databases.reading("demo") as first, databases.reading("demo") as second:  # two pooled
            expected = first.execute(count).scalar_one()
            assert second.execute(count).scalar_one() == expected
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            dropped = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": sa.make_url(url).database},
            ).scalar_one()
        admin.dispose()
        assert dropped >= 2
        for _ in range(3):
            assert databases.read("demo", lambda conn: conn.execute(count).scalar_one()) == expected
        databases.dispose()
