"""The deterministic demo data generator: one tenant's ERP data, written fast.

The same seed, size, ``today``, default currency and id offset give byte-identical rows: all
randomness comes from ``random.Random`` streams seeded from the seed, never from the clock.
Every generated id is shifted by ``id_offset`` (the reference rows keep their fixed ids), so two
tenants generated with different offsets share no ids.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from tqdm import tqdm

from demo import bulk, truth
from demo.bulk import Row
from demo.catalog import build_catalog
from demo.documents import OrderBook
from demo.parties import build_parties
from demo.plan import plan_orders
from demo.reference_rows import missing_reference_rows, reference_rows
from demo.run import Run
from tools import balances, schema, search

ORDERS_PER_BATCH = 25_000


@dataclass(frozen=True)
class GenerationSummary:
    """How many rows the generator wrote, per table."""

    reference_rows: int
    companies: int
    products: int
    warehouses: int
    warehouse_locations: int
    product_stock: int
    supplier_prices: int
    orders: int
    order_items: int
    payments: int
    inv_transactions: int

    def by_table(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


class DemoDataExists(Exception):
    """The database already holds generated rows with these ids."""


def generate(
    engine: sa.Engine,
    *,
    seed: int,
    orders: int,
    today: datetime.date,
    default_currency: str,
    id_offset: int = 0,
    progress: bool = False,
) -> GenerationSummary:
    """Create the ERP schema if absent and fill it with one tenant's generated data."""
    run = Run.of(seed=seed, orders=orders, today=today, currency=default_currency, id_offset=id_offset)
    parties = build_parties(run)
    catalog = build_catalog(run, parties)
    book = OrderBook(run, plan_orders(run), parties, catalog)
    written: Counter[str] = Counter()
    with engine.connect() as conn, bulk.fast_sqlite_load(conn):
        with conn.begin():
            bulk.create_missing_tables(conn, schema.metadata)
            bulk.create_missing_tables(conn, truth.metadata)
            _refuse_to_overwrite(conn, run)
            _insert(conn, missing_reference_rows(conn), written)
            _insert(conn, {schema.companies: parties.rows, **catalog.rows}, written)
        with tqdm(total=orders, unit="orders", file=sys.stderr, disable=not progress) as bar:
            _write_order_book(conn, book, orders, written, bar)
            bar.set_description("indexing")
            with conn.begin():
                bulk.create_missing_indexes(conn, schema.metadata)
                bulk.create_missing_indexes(conn, truth.metadata)
                search.create_search_indexes(conn)
                balances.install(conn)  # triggers, and PaidAmount of every document at once
                bulk.analyze(conn)
    return _summary(written)


def _write_order_book(
    conn: sa.Connection, book: OrderBook, orders: int, written: Counter[str], bar: tqdm[Any]
) -> None:
    """One transaction per batch of documents with their lines, payments and receipts."""
    for start in range(0, orders, ORDERS_PER_BATCH):
        stop = min(orders, start + ORDERS_PER_BATCH)
        with conn.begin():
            _insert(conn, book.batch(start, stop), written)
        bar.update(stop - start)


def _refuse_to_overwrite(conn: sa.Connection, run: Run) -> None:
    companies = schema.companies
    first_id = run.id_offset + 1
    if conn.execute(sa.select(companies.c.Id).where(companies.c.Id == first_id)).first() is not None:
        raise DemoDataExists(
            f"the database already holds generated data with ids from {first_id}; "
            "generate into an empty database or use another id_offset"
        )


def _insert(conn: sa.Connection, rows_by_table: dict[sa.Table, list[Row]], written: Counter[str]) -> None:
    for table, rows in rows_by_table.items():
        bulk.insert_rows(conn, table, rows)
        written[table.name] += len(rows)
        if table in search.SOURCES:  # the search rows of what was just written (rows start with the id)
            target, fresh = search.rows_for(conn, table, [row[0] for row in rows])
            bulk.insert_rows(conn, target, [bulk.as_row(target, **row) for row in fresh])


def _summary(written: Counter[str]) -> GenerationSummary:
    generated = {
        "companies": schema.companies,
        "products": schema.products,
        "warehouses": schema.warehouses,
        "warehouse_locations": schema.warehouse_locations,
        "product_stock": schema.product_stock,
        "supplier_prices": schema.supplier_prices,
        "orders": schema.orders,
        "order_items": schema.order_items,
        "payments": schema.payments,
        "inv_transactions": schema.inv_transactions,
    }
    reference = sum(written[table.name] for table in reference_rows())
    return GenerationSummary(reference, **{field: written[table.name] for field, table in generated.items()})
