"""What each document has been paid, kept on its row by the database itself.

``Orders.PaidAmount`` is the sum of the document's ``Payment`` rows, to the cent. Triggers on
``Payment`` (insert, update of amount or document, delete; truncate on PostgreSQL) and on
``Orders`` (a row inserted, or inserted again, picks up the payments already there) keep it
right for every writer: the demo generator, the connectors, the matching confirm and plain SQL.
No writer's code has to remember it.

The triggers are made with the schema (``metadata.create_all`` fires ``install`` once the
``Payment`` table exists). A bulk loader that creates its tables without them calls ``install``
after loading: it creates the triggers and sets every row's ``PaidAmount`` in one statement. A
tenant database made before the column existed is upgraded the same way (the column added, then
filled once) by the schema-creation paths (``asstio-mcp`` on start, a sync run, the demo
generator). Until that has happened the views see no triggers (``balance_kept``) and sum the
payments as before, so an old database answers slowly but never wrongly.

With the balance on the row, ``ix_orders_open`` (a partial index on the documents whose
``PaidAmount`` is below ``TotalIncVat``) lets the receivables read only the open invoices.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex

from tools import schema as s

SQLITE_TRIGGERS = {
    "tr_payment_paid_insert": """
        CREATE TRIGGER IF NOT EXISTS tr_payment_paid_insert AFTER INSERT ON "Payment" BEGIN
            UPDATE "Orders" SET "PaidAmount" = round("PaidAmount" + NEW."Amount", 2)
            WHERE "Id" = NEW."OrderId";
        END""",
    "tr_payment_paid_update": """
        CREATE TRIGGER IF NOT EXISTS tr_payment_paid_update
        AFTER UPDATE OF "Amount", "OrderId" ON "Payment" BEGIN
            UPDATE "Orders" SET "PaidAmount" = round("PaidAmount" - OLD."Amount", 2)
            WHERE "Id" = OLD."OrderId";
            UPDATE "Orders" SET "PaidAmount" = round("PaidAmount" + NEW."Amount", 2)
            WHERE "Id" = NEW."OrderId";
        END""",
    "tr_payment_paid_delete": """
        CREATE TRIGGER IF NOT EXISTS tr_payment_paid_delete AFTER DELETE ON "Payment" BEGIN
            UPDATE "Orders" SET "PaidAmount" = round("PaidAmount" - OLD."Amount", 2)
            WHERE "Id" = OLD."OrderId";
        END""",
    # A document written (again) after its payments: SQLite cannot change NEW, so update the row.
    "tr_orders_paid_insert": """
        CREATE TRIGGER IF NOT EXISTS tr_orders_paid_insert AFTER INSERT ON "Orders"
        WHEN EXISTS (SELECT 1 FROM "Payment" WHERE "OrderId" = NEW."Id") BEGIN
            UPDATE "Orders" SET "PaidAmount" = (
                SELECT round(coalesce(sum("Amount"), 0), 2) FROM "Payment" WHERE "OrderId" = NEW."Id"
            ) WHERE "Id" = NEW."Id";
        END""",
}

PG_FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION asstio_payment_paid() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            UPDATE "Orders" SET "PaidAmount" = "PaidAmount" - OLD."Amount" WHERE "Id" = OLD."OrderId";
        END IF;
        IF TG_OP <> 'DELETE' THEN
            UPDATE "Orders" SET "PaidAmount" = "PaidAmount" + NEW."Amount" WHERE "Id" = NEW."OrderId";
        END IF;
        RETURN NULL;
    END $$""",
    """
    CREATE OR REPLACE FUNCTION asstio_payment_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE "Orders" SET "PaidAmount" = 0 WHERE "PaidAmount" <> 0;
        RETURN NULL;
    END $$""",
    """
    CREATE OR REPLACE FUNCTION asstio_orders_paid() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW."PaidAmount" := (SELECT coalesce(sum("Amount"), 0) FROM "Payment" WHERE "OrderId" = NEW."Id");
        RETURN NEW;
    END $$""",
)

PG_TRIGGERS = {
    "tr_payment_paid": """
        CREATE TRIGGER tr_payment_paid AFTER INSERT OR DELETE OR UPDATE OF "Amount", "OrderId"
        ON "Payment" FOR EACH ROW EXECUTE FUNCTION asstio_payment_paid()""",
    "tr_payment_paid_truncate": """
        CREATE TRIGGER tr_payment_paid_truncate AFTER TRUNCATE ON "Payment"
        FOR EACH STATEMENT EXECUTE FUNCTION asstio_payment_truncated()""",
    "tr_orders_paid": """
        CREATE TRIGGER tr_orders_paid BEFORE INSERT ON "Orders"
        FOR EACH ROW EXECUTE FUNCTION asstio_orders_paid()""",
}

KEPT = "balance_kept"


def _trigger_names(conn: sa.Connection) -> dict[str, str]:
    return PG_TRIGGERS if conn.dialect.name == "postgresql" else SQLITE_TRIGGERS


def _existing_triggers(conn: sa.Connection) -> set[str]:
    names = list(_trigger_names(conn))
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            sa.text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(:names) "
                """AND tgrelid IN (to_regclass('"Payment"'), to_regclass('"Orders"'))"""
            ),
            {"names": names},
        )
    else:
        found = conn.execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN :names").bindparams(
                sa.bindparam("names", expanding=True)
            ),
            {"names": names},
        )
    return set(found.scalars())


def balance_kept(conn: sa.Connection) -> bool:
    """Whether this database keeps ``Orders.PaidAmount`` (all its triggers are there). A yes is
    remembered per database connection, so the check costs one catalog query per connection."""
    if conn.info.get(KEPT):
        return True
    kept = conn.dialect.name in ("sqlite", "postgresql") and _existing_triggers(conn) == set(
        _trigger_names(conn)
    )
    if kept:
        conn.info[KEPT] = True
    return kept


def install(conn: sa.Connection) -> bool:
    """Make this database keep ``PaidAmount``: the column (added to an older ``Orders``), the
    triggers, every row's balance set once from its payments, and the open-documents index.
    Idempotent and cheap when already done; returns whether anything had to be done."""
    if conn.dialect.name not in ("sqlite", "postgresql"):
        return False
    inspector = sa.inspect(conn)
    if not (inspector.has_table(s.orders.name) and inspector.has_table(s.payments.name)):
        return False
    columns = {column["name"] for column in inspector.get_columns(s.orders.name)}
    missing = set(_trigger_names(conn)) - _existing_triggers(conn)
    indexes = {index["name"] for index in inspector.get_indexes(s.orders.name)}
    if "PaidAmount" in columns and not missing and OPEN_INDEX.name in indexes:
        return False
    if "PaidAmount" not in columns:
        conn.exec_driver_sql('ALTER TABLE "Orders" ADD COLUMN "PaidAmount" NUMERIC(18, 2) NOT NULL DEFAULT 0')
    if missing:
        # Triggers first, then the balances: a payment written meanwhile waits for this
        # transaction (PostgreSQL) or for the write lock (SQLite), and is counted once.
        if conn.dialect.name == "postgresql":
            for function in PG_FUNCTIONS:
                conn.exec_driver_sql(function)
            for name in missing:
                conn.exec_driver_sql(PG_TRIGGERS[name])
        else:
            for name in missing:
                conn.exec_driver_sql(SQLITE_TRIGGERS[name])
        backfill(conn)
    conn.execute(CreateIndex(OPEN_INDEX, if_not_exists=True))
    return True


def backfill(conn: sa.Connection) -> None:
    """Every document's ``PaidAmount`` from its payments, in two statements."""
    paid = 'SELECT "OrderId", round(sum("Amount"), 2) AS "Paid" FROM "Payment" GROUP BY "OrderId"'
    conn.exec_driver_sql(
        f'UPDATE "Orders" SET "PaidAmount" = p."Paid" FROM ({paid}) AS p '
        'WHERE "Orders"."Id" = p."OrderId" AND "Orders"."PaidAmount" <> p."Paid"'
    )
    conn.exec_driver_sql(
        'UPDATE "Orders" SET "PaidAmount" = 0 WHERE "PaidAmount" <> 0 '
        'AND NOT EXISTS (SELECT 1 FROM "Payment" WHERE "Payment"."OrderId" = "Orders"."Id")'
    )


def install_on(engine: sa.Engine) -> bool:
    """``install`` in a transaction of its own. On PostgreSQL an upgrade then vacuums ``Orders``:
    the backfill left a dead version of every paid document, which ``ix_orders_open`` would list
    (and index-only scans would visit) until autovacuum came by."""
    with engine.begin() as conn:
        upgraded = install(conn)
    if upgraded and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql('VACUUM (ANALYZE) "Orders"')
    return upgraded


OPEN_INDEX = next(index for index in s.orders.indexes if index.name == "ix_orders_open")


def _installed_with_the_schema(target: sa.Table, connection: sa.Connection, **_kw: object) -> None:
    install(connection)


sa.event.listen(s.payments, "after_create", _installed_with_the_schema)
