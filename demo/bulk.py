"""Fast loading: tables first, rows in big batches, secondary indexes last.

Rows are tuples in the table's column order. SQLite gets them through the driver's
``executemany`` after SQLAlchemy's own bind processors (so values are stored exactly as a Core
insert would store them); PostgreSQL gets them through ``COPY``; any other dialect through a
Core ``executemany``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from tools import line_indexes

Row = tuple[Any, ...]
Processor = Callable[[Any], Any]

DISTINCT_DAYS = 4096
LOAD_CACHE_KIB = -262_144  # negative: KiB, so 256 MiB of page cache during the load


def as_row(table: sa.Table, **values: Any) -> Row:
    """A row of ``table`` from column names; every column must be given, and nothing else."""
    names = column_names(table)
    if set(values) != set(names):
        raise ValueError(f"{table.name}: columns {sorted(set(values) ^ set(names))} do not fit")
    return tuple(values[name] for name in names)


def require_columns(table: sa.Table, names: str) -> None:
    """Fail at import when the schema's column order no longer matches positional rows."""
    if column_names(table) != names.split():
        raise RuntimeError(f"{table.name} columns are now {column_names(table)}; update the generator")


def column_names(table: sa.Table) -> list[str]:
    return [column.name for column in table.columns]


def create_missing_tables(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Tables with their keys and constraints, but none of their secondary indexes yet."""
    existing = set(sa.inspect(conn).get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            conn.execute(CreateTable(table))


def create_missing_indexes(conn: sa.Connection, metadata: sa.MetaData) -> None:
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        existing = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            if index.name not in existing:
                index.create(conn)


def analyze(conn: sa.Connection) -> None:
    """Fresh planner statistics, so the views' indexes are chosen from the first query on."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    if conn.dialect.name in ("sqlite", "postgresql"):
        conn.exec_driver_sql("ANALYZE")
    line_indexes.analyze_documents(conn)  # the invoice-date indexes in full: samples mislead


@contextmanager
def fast_sqlite_load(conn: sa.Connection) -> Iterator[None]:
    """WAL and no fsync while loading (a crash means regenerating); durability restored after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    cache_size = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    conn.exec_driver_sql("PRAGMA synchronous=OFF")
    conn.exec_driver_sql(f"PRAGMA cache_size={LOAD_CACHE_KIB}")
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.exec_driver_sql(f"PRAGMA synchronous={int(synchronous)}")
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
        conn.commit()


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    if not rows:
        return
    width = len(table.columns)
    if len(rows[0]) != width:
        raise ValueError(f"{table.name}: rows have {len(rows[0])} values for {width} columns")
    if conn.dialect.name == "sqlite":
        _insert_through_driver(conn, table, rows)
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy_into(conn, table, rows)
    else:
        names = column_names(table)
        conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])


def _insert_through_driver(conn: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    processors = _bind_processors(conn.dialect, table)
    if processors:
        rows = [_processed(row, processors) for row in rows]
    columns = ", ".join(conn.dialect.identifier_preparer.quote(name) for name in column_names(table))
    marks = ", ".join("?" for _ in table.columns)
    table_name = conn.dialect.identifier_preparer.format_table(table)
    conn.exec_driver_sql(f"INSERT INTO {table_name} ({columns}) VALUES ({marks})", list(rows))


def _bind_processors(dialect: sa.Dialect, table: sa.Table) -> list[tuple[int, Processor]]:
    processors: list[tuple[int, Processor]] = []
    for position, column in enumerate(table.columns):
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None and isinstance(column.type, sa.DateTime):
            processor = functools.lru_cache(maxsize=DISTINCT_DAYS)(processor)  # few distinct days
        if processor is not None:
            processors.append((position, processor))
    return processors


def _processed(row: Row, processors: list[tuple[int, Processor]]) -> Row:
    values = list(row)
    for position, processor in processors:
        value = values[position]
        if value is not None:
            values[position] = processor(value)
    return tuple(values)


def _copy_into(conn: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in column_names(table))
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    driver_connection: Any = conn.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
