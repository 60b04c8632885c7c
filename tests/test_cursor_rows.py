"""A prebuilt first page read straight through the DBAPI cursor (``tools.cursor_rows``) answers
byte for byte what SQLAlchemy's own execution answers, and a page kept as its rows' values
(``tools.paging.TrustedPage``) writes through its JSON plan what its models write, on SQLite
and PostgreSQL, for rows with tricky values (NULLs, negative and half-cent amounts, datetimes
with microseconds or an offset, unicode); and a statement someone observes through
SQLAlchemy's events keeps SQLAlchemy's path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from demo.tenants import seed_database
from mcp_server.mcp_door import success_wire
from mcp_server.params import parse_params
from mcp_server.rendering import dumps, wire_value
from tests.support import TODAY, postgres_database, postgres_reachable, require_service
from tools.cursor_rows import READS, CursorRead
from tools.db import TenantDatabases
from tools.paging import TrustedPage
from tools.view import View, ViewContext, registered_views
from tools.wire import trusted_rows

NAMES = ['Åke & Söner "citat" \\ 😀', "", "naïve — ünïcødé"]
# (TotalExVat, TotalVat, TotalIncVat): half cents both ways, negatives, a -0.004 that rounds to 0.
AMOUNTS = [
    ("-12.345", "0.005", "-12.34"),
    ("0.005", "-0.004", "0.015"),
    ("-0.004", "0", "-0.004"),
    ("999999999.995", "0.125", "1000000000.12"),
    ("2.675", "1.005", "3.68"),
]


def tricky_moments(dialect: str) -> list[str | None]:
    """DateInvoice and DateDue values: microseconds, midnight, NULL; on SQLite also text with an
    offset (a naive column on PostgreSQL cannot hold one), one of them late in UTC only."""
    moments: list[str | None] = ["2026-11-19 23:59:59.999999", "2026-11-19 00:00:00", None]
    return moments + (
        ["2026-11-19 10:30:00+02:00", "2026-11-18 23:30:00.5-05:00", "2026-11-20 01:00:00+02:00"]
        if dialect == "sqlite"
        else []
    )


def make_tricky(url: str) -> None:
    """The newest orders (the first pages) get the tricky values, written by plain SQL."""
    seed_database(url, seed=11, orders=80, today=TODAY, draft_lines=40)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        dialect = conn.dialect.name
        newest = conn.scalars(
            sa.text('SELECT "Id" FROM "Orders" ORDER BY "DateOrder" DESC, "Id" DESC LIMIT 12')
        ).all()
        moments = tricky_moments(dialect)
        for i, order_id in enumerate(newest):
            ex, vat, inc = AMOUNTS[i % len(AMOUNTS)]
            conn.execute(
                sa.text(
                    'UPDATE "Orders" SET "Name" = :name, "TotalExVat" = :ex, "TotalVat" = :vat, '
                    '"TotalIncVat" = :inc WHERE "Id" = :id'
                ),
                {
                    "name": None if i % 4 == 3 else NAMES[i % len(NAMES)],
                    "ex": ex,
                    "vat": vat,
                    "inc": inc,
                    "id": order_id,
                },
            )
            invoiced, due = moments[i % len(moments)], moments[(i + 1) % len(moments)]
            conn.execute(
                sa.text('UPDATE "Orders" SET "DateInvoice" = :invoiced, "DateDue" = :due WHERE "Id" = :id'),
                {"invoiced": invoiced, "due": due, "id": order_id},
            )
        conn.execute(
            sa.text(
                'UPDATE "Company" SET "Name" = :name, "Orgno" = NULL WHERE "Id" IN '
                '(SELECT "CompanyId" FROM "Orders" WHERE "Id" = :id)'
            ),
            {"name": NAMES[0], "id": newest[0]},
        )
        make_tricky_rows(conn, moments)
    engine.dispose()


# (table, {column: values}): row Id % len(values) picks each column's value.
TRICKY_ROWS: list[tuple[str, dict[str, list[Any]]]] = [
    (
        "OrderItem",
        {
            "Description": NAMES,
            "QtyOrdered": ["2.500", "-1", "0.000", "1000000.125", "3"],
            "QtyDelivered": ["0.001", "-1.000", "0", "2"],
            "Price": [ex for ex, _, _ in AMOUNTS],
            "Discount": ["12.50", "0", "100", "33.33"],
            "SumExVat": [vat for _, vat, _ in AMOUNTS],
            "SumIncVat": [inc for _, _, inc in AMOUNTS],
        },
    ),
    (
        "ProductStock",
        {
            "QtyInStock": ["-0.000", "1.500", "0.001", "-2", "999999.999"],
            "QtyIncoming": ["0.125", "0", "-3.000"],
            "QtyOutgoing": ["10", "0.010", "-0.001", "7.7"],
        },
    ),
    (
        "SupplierPrice",
        {
            "Price": [ex for ex, _, _ in AMOUNTS],
            "SupplierProductNumber": [*NAMES, None],
            "LeadTimeDays": [None, 0, -1, 365],
        },
    ),
    (
        "PurchaseInvoiceDraft",
        {
            "InvoiceNumber": NAMES,
            "TotalExVat": [ex for ex, _, _ in AMOUNTS],
            "TotalVat": [vat for _, vat, _ in AMOUNTS],
            "TotalIncVat": [inc for _, _, inc in AMOUNTS],
        },
    ),
]


def make_tricky_rows(conn: sa.Connection, moments: list[str | None]) -> None:
    """Lines, stock, supplier prices and drafts get tricky values too, by plain SQL."""
    dated = [
        ("SupplierPrice", {"ValidFrom": moments, "ValidTo": moments[1:] + moments[:1]}),
        ("PurchaseInvoiceDraft", {"DateDue": moments}),
    ]
    for table, columns in TRICKY_ROWS + dated:
        for column, values in columns.items():
            for i, value in enumerate(values):
                conn.execute(
                    sa.text(f'UPDATE "{table}" SET "{column}" = :value WHERE "Id" % :n = :i'),
                    {"value": value, "n": len(values), "i": i},
                )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def tricky(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TenantDatabases]:
    if request.param == "sqlite":
        root: Path = tmp_path_factory.mktemp("tricky")
        url = f"sqlite:///{root / 'tricky.db'}"
        make_tricky(url)
        databases = TenantDatabases({"demo": url})
        yield databases
        databases.dispose()
        return
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("tricky") as url:
        make_tricky(url)
        databases = TenantDatabases({"demo": url})
        yield databases
        databases.dispose()


def paged_views() -> list[View[Any, Any]]:
    return [v for v in registered_views() if v.paging is not None and not v.writes]


def arguments_of(databases: TenantDatabases, view: View[Any, Any]) -> dict[str, Any]:
    if view.tool != "list_vendor_prices":
        return {}
    with databases.reading("demo") as conn:
        return {"productId": conn.scalar(sa.text('SELECT MIN("ProductId") FROM "SupplierPrice"'))}


def rendered(
    databases: TenantDatabases, view: View[Any, Any], arguments: dict[str, Any], *, models: bool = False
) -> tuple[bytes, str]:
    """The MCP result's JSON and the REST body of one call (``models``: a page kept as its rows'
    values rendered from its models instead, as before its JSON plan)."""
    ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
    with databases.reading("demo") as conn:
        result = view.query(conn, ctx, parse_params(view.params, arguments))
    if models and isinstance(result, TrustedPage):
        result = result.page()
    return orjson.dumps(success_wire(result)), dumps(wire_value(result))


def through_sqlalchemy(
    databases: TenantDatabases, view: View[Any, Any], arguments: dict[str, Any]
) -> tuple[bytes, str]:
    """The same call while an event listener observes SQLAlchemy's execution (its own path)."""
    engine = databases.engine("demo")

    def observe(*_: Any) -> None:
        return None

    event.listen(engine, "after_cursor_execute", observe)
    try:
        return rendered(databases, view, arguments)
    finally:
        event.remove(engine, "after_cursor_execute", observe)


def kept_reads() -> int:
    return sum(1 for read in READS.values() if isinstance(read, CursorRead) and read.sql)


@pytest.mark.parametrize("page_size", [None, 7, 100])
def test_every_list_view_answers_the_same_bytes_through_the_cursor_as_through_sqlalchemy(
    tricky: TenantDatabases, page_size: int | None
) -> None:
    for view in paged_views():
        arguments = arguments_of(tricky, view) | ({} if page_size is None else {"pageSize": page_size})
        rendered(tricky, view, arguments)  # the first call keeps what SQLAlchemy sent
        through_cursor = rendered(tricky, view, arguments)
        assert through_cursor == through_sqlalchemy(tricky, view, arguments), view.tool
        assert through_cursor == rendered(tricky, view, arguments, models=True), view.tool


PLANNED = [
    "list_sales_orders",
    "list_sales_invoices",
    "list_purchase_orders",
    "list_customers",
    "list_vendor_prices",
    "list_warehouse_stock",
    "list_purchase_invoice_drafts",
    "list_sales_invoice_lines",
    "list_open_order_lines",
]


@pytest.mark.parametrize("tool", PLANNED)
def test_the_tricky_pages_are_written_by_their_json_plan_not_by_their_models(
    tricky: TenantDatabases, tool: str
) -> None:
    view = next(v for v in registered_views() if v.tool == tool)
    ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
    arguments = arguments_of(tricky, view) | {"statusKind": "any", "pageSize": 100}
    with tricky.reading("demo") as conn:
        page = view.query(conn, ctx, parse_params(view.params, arguments))
    plan = trusted_rows(page.model).json
    assert isinstance(page, TrustedPage) and plan is not None and len(page.values) > 3
    assert all(plan(values) is not None for values in page.values)  # no row fell back to the models


def test_the_tricky_rows_are_on_the_first_page_and_read_through_the_cursor(tricky: TenantDatabases) -> None:
    view = next(v for v in registered_views() if v.tool == "list_sales_orders")
    arguments = {"statusKind": "any", "pageSize": 12}
    rendered(tricky, view, arguments)
    before = kept_reads()
    mcp, rest = rendered(tricky, view, arguments)
    names = [item["name"] for item in orjson.loads(mcp)["structuredContent"]["items"]]
    assert {*NAMES, None} <= set(names)
    assert '"totalIncVat":-12.34' in rest
    assert kept_reads() == before  # the second call used the read the first one kept
    assert (mcp, rest) == through_sqlalchemy(tricky, view, arguments)


def test_a_database_error_through_the_cursor_is_sqlalchemys_error(tricky: TenantDatabases) -> None:
    broken = CursorRead('SELECT "Id" FROM "NoSuchTable"', (), ("id",), ())
    with tricky.reading("demo") as conn:
        with pytest.raises(sa.exc.DBAPIError, match=r"NoSuchTable|no such table"):
            broken.rows(conn)
        if conn.dialect.name == "postgresql":
            conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        assert conn.scalar(sa.text("SELECT 1")) == 1  # the connection still answers


def test_the_statement_time_limit_holds_through_the_cursor(tmp_path: Path) -> None:
    databases = TenantDatabases({"demo": f"sqlite:///{tmp_path / 'empty.db'}"}, statement_timeout_ms=50)
    endless = CursorRead(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
        (),
        ("n",),
        (),
    )
    with databases.reading("demo") as conn, pytest.raises(sa.exc.OperationalError, match="interrupted"):
        endless.rows(conn)
    databases.dispose()


def test_a_page_someone_observes_through_sqlalchemy_events_keeps_sqlalchemys_path(
    tricky: TenantDatabases,
) -> None:
    view = next(v for v in registered_views() if v.tool == "list_sales_orders")
    engine = tricky.engine("demo")
    pages: list[str] = []

    def observe(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        pages.extend([statement] if "LIMIT" in statement.upper() else [])

    event.listen(engine, "after_cursor_execute", observe)
    try:
        for _ in range(3):
            rendered(tricky, view, {"pageSize": 9})
    finally:
        event.remove(engine, "after_cursor_execute", observe)
    assert len(pages) == 3
