"""The summaries' covering indexes on the lines (tools/schema.py, tools/line_indexes.py): a new
SQLite tenant has them, a tenant made before them gets them from ``asstio-mcp index-search``,
the product summary then joins invoices to lines through index pages only, and what the user is
told is the same as before the upgrade. The oracle for the figures is SQL written here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from demo.tenants import seed_database
from mcp_server.cli import main
from tests.support import TODAY
from tools.view import ViewContext, registered_views
from tools.views._summaries import Scope, aggregate

ORDERS = 600
INDEXES = {"ix_orders_date_invoice_lines", "ix_order_item_figures"}
PRODUCTS = {
    "measure": "sales",
    "period": "year",
    "group_by": "product",
    "top": 5,
    "compare_to": "previousYear",
}


def indexes(conn: sa.Connection) -> set[str]:
    rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {str(row[0]) for row in rows} & INDEXES


def summary(conn: sa.Connection) -> Any:
    view = next(v for v in registered_views() if v.name == "summary")
    return view.query(conn, ViewContext(tenant="t", sub="s", today=TODAY), view.params(**PRODUCTS))


def product_sums(conn: sa.Connection, product_id: int) -> tuple[Decimal, int]:
    """This year's invoiced and credited amount (home currency SEK only) and documents of a product."""
    row = conn.exec_driver_sql(
        'SELECT sum(i."SumExVat" * c."RateToSek"), count(DISTINCT o."Id") FROM "OrderItem" i '
        'JOIN "Orders" o ON o."Id" = i."OrderId" JOIN "Currency" c ON c."Id" = o."CurrencyId" '
        'JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId" '
        'JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId" '
        "WHERE t.\"SystemName\" IN ('SALESINVOICE', 'SALESCREDIT') AND s.\"IsSales\" = 1 "
        'AND o."DateInvoice" >= ? AND o."DateInvoice" < ? AND i."ProductId" = ?',
        (f"{TODAY.year}-01-01 00:00:00.000000", f"{TODAY.year + 1}-01-01 00:00:00.000000", product_id),
    ).one()
    return Decimal(str(row[0])), int(row[1])


def products_statement() -> sa.Select[Any]:
    """The statement the product summary adds this year's lines up with."""
    first = date(TODAY.year, 1, 1)
    return aggregate(Scope("sales"), first, TODAY, by_lines=True, dialect="sqlite", group_by="product")


def explained(stmt: sa.Select[Any]) -> sa.TextClause:
    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    return sa.text(f"EXPLAIN QUERY PLAN {compiled}")


def test_an_older_sqlite_tenant_gets_the_line_indexes_and_answers_the_same(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tenant.db'}"
    seed_database(url, seed=5, orders=ORDERS, today=TODAY)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert indexes(conn) == INDEXES  # a new tenant has them
            for name in INDEXES:  # as a version before them
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            before = summary(conn)
    finally:
        engine.dispose()

    main(["index-search", "--database-url", url])
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert indexes(conn) == INDEXES
            after = summary(conn)
            plan = " ".join(str(row[-1]) for row in conn.execute(explained(products_statement())))
            top = after.groups[0]
            amount, documents = product_sums(conn, top.id)
    finally:
        engine.dispose()
    assert after.model_dump() == before.model_dump()
    assert "COVERING INDEX ix_order_item_figures" in plan
    assert "COVERING INDEX ix_orders_date_invoice_lines" in plan
    assert top.document_count == documents
    assert abs(top.amount_home - amount) <= Decimal("0.01") * documents
