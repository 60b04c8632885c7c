"""Tenant connections: the views' connections refuse writes from the moment they are opened;
only the matching write endpoints get a writable one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tools import schema as s
from tools.db import TenantDatabases
from tools.errors import ServiceUnavailable

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
