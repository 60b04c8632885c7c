"""The document lines added up per month, kept by the database itself (``OrderItemMonth``).

A summary over lines (``summarize groupBy=product``, or with a ``productId``) of sales by invoice
date or order intake by order date reads whole months from this table instead of every line of
the range: a row per (``DateColumn``, month of that date, product, currency, status) holds the
lines' ``SumExVat`` and ``QtyOrdered`` summed and the number of documents with such a line
(additive over months, statuses and currencies: a document has one of each). ``ProductId`` 0 is
the lines without a product; -1 every line of the documents, so that a total's document count is
exact too. A row whose lines all left stays with ``Documents`` 0 and is skipped when read (a
delete per write cost PostgreSQL a scan of every dead version the transaction had left).
Statuses are kept, not selected: which of them count is decided when asked (``tools.statuses``),
and credit notes' quantities are negated then.

Triggers on ``OrderItem`` (insert, update of what is summed, delete) and ``Orders`` (insert, update
of a date, the currency or the status, delete; truncate on PostgreSQL) keep it right for every
writer, as ``tools.balances`` keeps the open balances, and are installed by the same paths
(``tools.balances.install``: the schema, the demo generator after its bulk load, ``asstio-mcp
index-search``, a sync run, ``bench``). Until a database has them (``months_kept``) the
summaries read the lines, so an old tenant answers slowly but never wrongly. Not followed: a
change of a row's ``Id``, and SQLite's ``INSERT OR REPLACE`` over an existing row (the writers
here upsert with ``ON CONFLICT``, which fires the update triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from tools import schema as s
from tools.db import triggers_present

TABLE = s.order_item_months
DATE_COLUMNS = ("DateInvoice", "DateOrder")
NO_PRODUCT, EVERY_LINE = 0, -1
_T = f'"{TABLE.name}"'
_COLUMNS = (
    '"DateColumn", "Month", "ProductId", "CurrencyId", "OrderStatusId", "Amount", "Quantity", "Documents"'
)
_KEY = '"DateColumn", "Month", "ProductId", "CurrencyId", "OrderStatusId"'
_ADD = (
    f'ON CONFLICT ({_KEY}) DO UPDATE SET "Amount" = {_T}."Amount" + excluded."Amount", '
    f'"Quantity" = {_T}."Quantity" + excluded."Quantity", '
    f'"Documents" = {_T}."Documents" + excluded."Documents"'
)
# Each line counts twice per date column: under its product, and under EVERY_LINE.
_DATES = " UNION ALL ".join(f"SELECT '{name}' AS col" for name in DATE_COLUMNS)
_UNDER = "(SELECT 0 AS every UNION ALL SELECT 1)"


def _month(value: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"date_trunc('month', {value})::date"
    return f"strftime('%Y-%m-01', {value})"


def _dated(doc: str) -> str:
    return f"""CASE d.col WHEN 'DateInvoice' THEN {doc}."DateInvoice" ELSE {doc}."DateOrder" END"""


def _product(line: str) -> str:
    return f'CASE u.every WHEN 1 THEN {EVERY_LINE} ELSE coalesce({line}."ProductId", {NO_PRODUCT}) END'


def line_change(line: str, sign: int, self_id: str) -> str:
    """SQLite, per row: add (sign 1) or take away (-1) one line of an order in the table's
    current state (its row triggers fire as each row is written). The document is counted (or
    no longer) when no other line of it has the same product (for EVERY_LINE: no other line at
    all); "other" is any line but ``self_id``."""
    alone = (
        f'NOT EXISTS (SELECT 1 FROM "OrderItem" x WHERE x."OrderId" = {line}."OrderId" '
        f'AND x."Id" <> {self_id} AND (u.every = 1 OR x."ProductId" IS {line}."ProductId"))'
    )
    return (
        f"INSERT INTO {_T} ({_COLUMNS}) "
        f'SELECT d.col, {_month(_dated("o"), "sqlite")}, {_product(line)}, o."CurrencyId", '
        f'o."OrderStatusId", {sign} * {line}."SumExVat", {sign} * {line}."QtyOrdered", '
        f"CASE WHEN {alone} THEN {sign} ELSE 0 END "
        f'FROM "Orders" o, ({_DATES}) d, {_UNDER} u '
        f'WHERE o."Id" = {line}."OrderId" AND {_dated("o")} IS NOT NULL {_ADD};'
    )


def document_change(doc: str, sign: int, dialect: str) -> str:
    """Add or take away every line of the order ``doc`` (a row: its dates, currency, status)."""
    return (
        f"INSERT INTO {_T} ({_COLUMNS}) "
        f'SELECT d.col, {_month(_dated(doc), dialect)}, {_product("x")}, {doc}."CurrencyId", '
        f'{doc}."OrderStatusId", {sign} * sum(x."SumExVat"), {sign} * sum(x."QtyOrdered"), {sign} '
        f'FROM "OrderItem" x, ({_DATES}) d, {_UNDER} u '
        f'WHERE x."OrderId" = {doc}."Id" AND {_dated(doc)} IS NOT NULL '
        f"GROUP BY d.col, {_product('x')} {_ADD};"
    )


_LINE_CHANGED = ("OrderId", "ProductId", "SumExVat", "QtyOrdered")
_DOCUMENT_CHANGED = ("DateInvoice", "DateOrder", "CurrencyId", "OrderStatusId")


def _changed(columns: tuple[str, ...], dialect: str) -> str:
    """Whether a row's update moves its figures: a date only when it leaves its month (a
    connector's upsert writes every column of the rows it syncs, mostly unchanged)."""
    differ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"

    def value(row: str, column: str) -> str:
        quoted = f'{row}."{column}"'
        return _month(quoted, dialect) if column.startswith("Date") else quoted

    return " OR ".join(f"{value('OLD', c)} {differ} {value('NEW', c)}" for c in columns)


def _of(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def sqlite_triggers() -> dict[str, str]:
    # INSERT ... SELECT ... ON CONFLICT needs a WHERE to parse on SQLite: every SELECT has one.
    new_line, old_line = (
        line_change("NEW", 1, 'NEW."Id"'),
        line_change("OLD", -1, 'NEW."Id"'),
    )
    deleted_line = line_change("OLD", -1, 'OLD."Id"')
    return {
        "tr_order_item_month_insert": "CREATE TRIGGER IF NOT EXISTS tr_order_item_month_insert "
        f'AFTER INSERT ON "OrderItem" BEGIN {new_line} END',
        "tr_order_item_month_update": "CREATE TRIGGER IF NOT EXISTS tr_order_item_month_update "
        f'AFTER UPDATE OF {_of(_LINE_CHANGED)} ON "OrderItem" WHEN {_changed(_LINE_CHANGED, "sqlite")} '
        f"BEGIN {old_line} {new_line} END",
        "tr_order_item_month_delete": "CREATE TRIGGER IF NOT EXISTS tr_order_item_month_delete "
        f'AFTER DELETE ON "OrderItem" BEGIN {deleted_line} END',
        "tr_orders_month_insert": "CREATE TRIGGER IF NOT EXISTS tr_orders_month_insert "
        f'AFTER INSERT ON "Orders" BEGIN {document_change("NEW", 1, "sqlite")} END',
        "tr_orders_month_update": "CREATE TRIGGER IF NOT EXISTS tr_orders_month_update "
        f'AFTER UPDATE OF {_of(_DOCUMENT_CHANGED)} ON "Orders" WHEN {_changed(_DOCUMENT_CHANGED, "sqlite")} '
        f"BEGIN {document_change('OLD', -1, 'sqlite')} {document_change('NEW', 1, 'sqlite')} "
        "END",
        # Before: the lines are still there to take away (a cascade would remove them after).
        "tr_orders_month_delete": "CREATE TRIGGER IF NOT EXISTS tr_orders_month_delete "
        f'BEFORE DELETE ON "Orders" BEGIN {document_change("OLD", -1, "sqlite")} END',
    }


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nEND $$"
    )


def lines_changed(new: str, old: str) -> str:
    """PostgreSQL, once per statement on ``OrderItem``: the lines it inserted (``new``) and
    removed (``old``; an update is both) added and taken away. A row trigger cannot count the
    documents there: after a statement of several lines each would see all of them. Here a
    document's count moves when the lines of its (order, product) go from none to some or back,
    their number before the statement being the number now less the added plus the removed."""
    changed = (
        f'SELECT "OrderId", "ProductId", 1 AS n, "SumExVat" AS a, "QtyOrdered" AS q FROM {new} '
        f'UNION ALL SELECT "OrderId", "ProductId", -1, -"SumExVat", -"QtyOrdered" FROM {old}'
    )
    per = (
        f'SELECT c."OrderId", {_product("c")} AS pid, u.every, sum(c.n) AS n, sum(c.a) AS a, sum(c.q) AS q '
        f"FROM ({changed}) c, {_UNDER} u GROUP BY 1, 2, 3"
    )
    now = (
        'SELECT count(*) FROM "OrderItem" x WHERE x."OrderId" = p."OrderId" '
        f'AND (p.every = 1 OR coalesce(x."ProductId", {NO_PRODUCT}) = p.pid)'
    )
    counted = f"SELECT p.*, ({now}) AS after FROM ({per}) p"
    documents = "(k.after > 0)::int - (k.after - k.n > 0)::int"
    month = _month(_dated("o"), "postgresql")
    return (
        f"INSERT INTO {_T} ({_COLUMNS}) "
        f'SELECT d.col, {month}, k.pid, o."CurrencyId", o."OrderStatusId", sum(k.a), sum(k.q), '
        f"sum({documents}) "
        f'FROM ({counted}) k JOIN "Orders" o ON o."Id" = k."OrderId", ({_DATES}) d '
        f"WHERE {_dated('o')} IS NOT NULL AND (k.a <> 0 OR k.q <> 0 OR {documents} <> 0) "
        f'GROUP BY d.col, {month}, k.pid, o."CurrencyId", o."OrderStatusId" {_ADD};'
    )


_NO_LINES = '(SELECT * FROM "OrderItem" WHERE false) AS none'


def pg_functions() -> list[str]:
    pg = "postgresql"
    document = f"""
    IF TG_OP <> 'INSERT' THEN {document_change("OLD", -1, pg)} END IF;
    IF TG_OP <> 'DELETE' THEN {document_change("NEW", 1, pg)} END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;"""
    return [
        _pg_function("asstio_order_items_inserted", f"{lines_changed('new_lines', _NO_LINES)} RETURN NULL;"),
        _pg_function("asstio_order_items_updated", f"{lines_changed('new_lines', 'old_lines')} RETURN NULL;"),
        _pg_function("asstio_order_items_deleted", f"{lines_changed(_NO_LINES, 'old_lines')} RETURN NULL;"),
        _pg_function("asstio_orders_month", document),
        _pg_function("asstio_order_item_month_truncated", f"DELETE FROM {_T}; RETURN NULL;"),
    ]


def pg_triggers() -> dict[str, str]:
    return {
        **{
            f"tr_order_items_{done}": f'CREATE TRIGGER tr_order_items_{done} AFTER {event} ON "OrderItem" '
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION asstio_order_items_{done}()"
            for done, event, tables in (
                ("inserted", "INSERT", "NEW TABLE AS new_lines"),
                ("updated", "UPDATE", "OLD TABLE AS old_lines NEW TABLE AS new_lines"),
                ("deleted", "DELETE", "OLD TABLE AS old_lines"),
            )
        },
        "tr_orders_month": 'CREATE TRIGGER tr_orders_month AFTER INSERT ON "Orders" FOR EACH ROW '
        "EXECUTE FUNCTION asstio_orders_month()",
        "tr_orders_month_changed": "CREATE TRIGGER tr_orders_month_changed AFTER UPDATE OF "
        f'{_of(_DOCUMENT_CHANGED)} ON "Orders" FOR EACH ROW '
        f"WHEN ({_changed(_DOCUMENT_CHANGED, 'postgresql')}) "
        "EXECUTE FUNCTION asstio_orders_month()",
        # Before: the lines are still there to take away (a cascade would remove them after).
        "tr_orders_month_delete": 'CREATE TRIGGER tr_orders_month_delete BEFORE DELETE ON "Orders" '
        "FOR EACH ROW EXECUTE FUNCTION asstio_orders_month()",
        "tr_order_item_month_truncate": "CREATE TRIGGER tr_order_item_month_truncate AFTER TRUNCATE "
        'ON "OrderItem" FOR EACH STATEMENT EXECUTE FUNCTION asstio_order_item_month_truncated()',
        "tr_orders_month_truncate": "CREATE TRIGGER tr_orders_month_truncate AFTER TRUNCATE "
        'ON "Orders" FOR EACH STATEMENT EXECUTE FUNCTION asstio_order_item_month_truncated()',
    }


def triggers(conn: sa.Connection) -> dict[str, str]:
    return pg_triggers() if conn.dialect.name == "postgresql" else sqlite_triggers()


def existing_triggers(conn: sa.Connection) -> set[str]:
    """The triggers of this table the database has."""
    return triggers_present(conn, list(triggers(conn)), (s.orders, s.order_items))


def months_kept(conn: sa.Connection) -> bool:
    """Whether this database keeps ``OrderItemMonth`` (all its triggers are there); a yes is
    remembered per connection."""
    if conn.info.get("months_kept"):
        return True
    kept = conn.dialect.name in ("sqlite", "postgresql") and existing_triggers(conn) == set(triggers(conn))
    if kept:
        conn.info["months_kept"] = True
    return kept


def install(conn: sa.Connection) -> bool:
    """Make this database keep ``OrderItemMonth``: the table and its indexes (added to an older
    database), the triggers, and every row added up once from the lines. Idempotent and cheap
    when done; whether anything had to be done. On SQLite the caller holds the write lock
    (``tools.balances.install_on``)."""
    if conn.dialect.name == "postgresql":  # the upgraders of ``tools.balances`` queue on it too
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('asstio_balances'))")
    inspector = sa.inspect(conn)
    if not (inspector.has_table(s.orders.name) and inspector.has_table(s.order_items.name)):
        return False
    made = False
    if not inspector.has_table(TABLE.name):
        conn.execute(CreateTable(TABLE))
        made = True
    for index in TABLE.indexes:
        if index.name not in {i["name"] for i in inspector.get_indexes(TABLE.name)}:
            conn.execute(CreateIndex(index, if_not_exists=True))
            made = True
    missing = set(triggers(conn)) - existing_triggers(conn)
    if not missing:
        return made
    # Triggers first, then the sums: a line written meanwhile waits for this transaction
    # (PostgreSQL) or the write lock (SQLite), and is counted once.
    if conn.dialect.name == "postgresql":
        for function in pg_functions():
            conn.exec_driver_sql(function)
    for name in sorted(missing):
        conn.exec_driver_sql(triggers(conn)[name])
    backfill(conn)
    if conn.dialect.name == "sqlite":  # PostgreSQL: VACUUM (ANALYZE) by tools.balances.install_on
        # Without statistics SQLite reads a few products' months through the primary key, every
        # product's rows of the range (91 ms at a million orders), not through their index (3 ms).
        conn.exec_driver_sql(f"ANALYZE {_T}")
    return True


def backfill(conn: sa.Connection) -> None:
    """Every row again from the lines, in one statement per date column."""
    conn.exec_driver_sql(f"DELETE FROM {_T}")
    dialect = conn.dialect.name
    for name in DATE_COLUMNS:
        month = _month(f'o."{name}"', dialect)
        per = (
            f'SELECT \'{name}\', {month}, {_product("i")}, o."CurrencyId", o."OrderStatusId", '
            'sum(i."SumExVat"), sum(i."QtyOrdered"), count(DISTINCT o."Id") '
            f'FROM "Orders" o JOIN "OrderItem" i ON i."OrderId" = o."Id", {_UNDER} u '
            f'WHERE o."{name}" IS NOT NULL '
            f'GROUP BY {month}, {_product("i")}, o."CurrencyId", o."OrderStatusId"'
        )
        conn.exec_driver_sql(f"INSERT INTO {_T} ({_COLUMNS}) {per}")


def _installed_with_the_schema(target: sa.MetaData, connection: sa.Connection, **_kw: object) -> None:
    if connection.dialect.name in ("sqlite", "postgresql"):
        install(connection)


sa.event.listen(s.metadata, "after_create", _installed_with_the_schema)
