"""SQLite (the embedded default) and PostgreSQL (production) give the same rows for every
view, Unicode names, ordering and computed money included."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_server.params import parse_params
from mcp_server.rendering import wire_value
from tests.support import SAMPLE_ARGUMENTS, TODAY
from tools.db import TenantDatabases
from tools.view import View, ViewContext, registered_views


def run(databases: TenantDatabases, view: View, arguments: dict[str, Any]) -> Any:
    ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
    with databases.reading("demo") as conn:
        return wire_value(view.query(conn, ctx, parse_params(view.params, arguments)))


def first_ids(databases: TenantDatabases) -> dict[str, int]:
    views = {v.name: v for v in registered_views()}
    customers = run(databases, views["customers"], {"pageSize": 1})["items"]
    products = run(databases, views["products-find"], {"q": "a", "limit": 1})
    drafts = run(databases, views["purchase-invoice-drafts"], {"pageSize": 1})["items"]
    return {
        "customerId": customers[0]["id"],
        "productId": products[0]["productId"],
        "invoiceId": drafts[0]["invoiceId"],
    }


@pytest.fixture(scope="module")
def both(
    sqlite_tenants: dict[str, str], postgres_tenants: dict[str, str]
) -> tuple[TenantDatabases, TenantDatabases]:
    return TenantDatabases(sqlite_tenants), TenantDatabases(postgres_tenants)


def test_every_view_gives_the_same_rows_on_sqlite_and_postgresql(
    both: tuple[TenantDatabases, TenantDatabases],
) -> None:
    sqlite, postgres = both
    ids = first_ids(sqlite)
    assert ids == first_ids(postgres)
    by_id = {
        "customer": [{"customerId": ids["customerId"]}],
        "vendor-prices": [{"productId": ids["productId"]}],
        "purchase-invoice-matches": [{"invoiceId": ids["invoiceId"]}],
    }
    compared = set()
    for view in registered_views():
        if view.writes:
            continue
        for arguments in SAMPLE_ARGUMENTS.get(view.name, []) + by_id.get(view.name, []):
            assert run(sqlite, view, arguments) == run(postgres, view, arguments), (view.name, arguments)
            compared.add(view.name)
    assert compared == {v.name for v in registered_views() if not v.writes}
