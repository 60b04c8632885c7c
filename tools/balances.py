"""What each document has been paid, kept on its row by the database itself.

``Orders.PaidAmount`` is the sum of the document's ``Payment`` rows, to the cent, and
``SupplierInvoice.PaidAmount`` the sum of its ``SupplierPayment`` rows. Triggers on the payments
(insert, update of amount or document, delete; truncate on PostgreSQL) and on the documents (a
row inserted, or inserted again, picks up the payments already there) keep them right for every
writer: the demo generator, the connectors, the matching confirm and plain SQL. No writer's code
has to remember it.

The triggers are made with the schema (``metadata.create_all`` fires ``install`` once a payments
table exists). A bulk loader that creates its tables without them calls ``install`` after
loading: it creates the triggers and corrects every row's ``PaidAmount`` in one statement. A
tenant database made before the column existed is upgraded the same way (the column added, then
filled once) by the schema-creation paths (``asstio-mcp index-search``, a sync run, the demo
generator and the demo on start, ``bench``). Until that has happened the views see no triggers
(``balance_kept``) and sum the payments as before, so an old database answers slowly but never
wrongly.

With the balance on the row, partial indexes on the documents whose ``PaidAmount`` is below
``TotalIncVat`` (``ix_orders_open``, ``ix_supplier_invoice_open*``) let the receivables and the
payables read only the open invoices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex

from tools import line_indexes, line_months
from tools import schema as s
from tools.db import triggers_present
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.redact import redacted_url

log = logging.getLogger("asstio.balances")
# Databases already told to upgrade (each is named once per process, not on every call).
_told: set[str] = set()


@dataclass(frozen=True)
class Balance:
    """``documents.PaidAmount`` as the sum of ``payments.Amount`` per ``payments.<key>``; the
    tags name the triggers and functions on each table."""

    documents: sa.Table
    payments: sa.Table
    key: str
    tag: str  # the documents'
    pay: str  # the payments'

    @property
    def indexes(self) -> list[sa.Index]:
        return sorted(
            (i for i in self.documents.indexes if "PaidAmount" in str(i.dialect_options["sqlite"]["where"])),
            key=lambda i: str(i.name),
        )

    @property
    def names(self) -> tuple[str, str, str, str, str]:
        """What the DDL below names: the documents, payments and key quoted, then the two tags."""
        return f'"{self.documents.name}"', f'"{self.payments.name}"', f'"{self.key}"', self.tag, self.pay

    def sqlite_triggers(self) -> dict[str, str]:
        doc, pay, key, tag, p = self.names
        paid = f'SELECT round(coalesce(sum("Amount"), 0), 2) FROM {pay} WHERE {key} = NEW."Id"'

        # The document's payments summed again (index-served), not the row's amount added or
        # taken away: an INSERT OR REPLACE deletes the row it replaces without firing the delete
        # trigger (unless recursive_triggers is on), and a sum never drifts by a cent.
        def resum(row: str) -> str:
            total = f'SELECT round(coalesce(sum("Amount"), 0), 2) FROM {pay} WHERE {key} = {row}.{key}'
            return f'UPDATE {doc} SET "PaidAmount" = ({total}) WHERE "Id" = {row}.{key};'

        add, sub = resum("NEW"), resum("OLD")
        return {
            f"tr_{p}_paid_insert": f"CREATE TRIGGER IF NOT EXISTS tr_{p}_paid_insert "
            f"AFTER INSERT ON {pay} BEGIN {add} END",
            f"tr_{p}_paid_update": f"CREATE TRIGGER IF NOT EXISTS tr_{p}_paid_update "
            f'AFTER UPDATE OF "Amount", {key} ON {pay} BEGIN {sub} {add} END',
            f"tr_{p}_paid_delete": f"CREATE TRIGGER IF NOT EXISTS tr_{p}_paid_delete "
            f"AFTER DELETE ON {pay} BEGIN {sub} END",
            # A document written (again) after its payments, or with a PaidAmount of its own: what
            # its payments sum to (SQLite cannot change NEW, so the row is updated when it differs).
            f"tr_{tag}_paid_insert": f"CREATE TRIGGER IF NOT EXISTS tr_{tag}_paid_insert "
            f"AFTER INSERT ON {doc} "
            f'WHEN NEW."PaidAmount" <> ({paid}) BEGIN UPDATE {doc} SET "PaidAmount" = ({paid}) '
            f'WHERE "Id" = NEW."Id"; END',
        }

    def pg_functions(self) -> list[str]:
        doc, pay, key, tag, p = self.names
        return [
            f"""CREATE OR REPLACE FUNCTION asstio_{p}_paid() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE {doc} SET "PaidAmount" = "PaidAmount" - OLD."Amount" WHERE "Id" = OLD.{key};
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    UPDATE {doc} SET "PaidAmount" = "PaidAmount" + NEW."Amount" WHERE "Id" = NEW.{key};
                END IF;
                RETURN NULL;
            END $$""",
            f"""CREATE OR REPLACE FUNCTION asstio_{p}_truncated() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE {doc} SET "PaidAmount" = 0 WHERE "PaidAmount" <> 0;
                RETURN NULL;
            END $$""",
            f"""CREATE OR REPLACE FUNCTION asstio_{tag}_paid() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW."PaidAmount" := (SELECT coalesce(sum("Amount"), 0) FROM {pay} WHERE {key} = NEW."Id");
                RETURN NEW;
            END $$""",
        ]

    def pg_triggers(self) -> dict[str, str]:
        doc, pay, key, tag, p = self.names
        return {
            f"tr_{p}_paid": f"CREATE TRIGGER tr_{p}_paid "
            f'AFTER INSERT OR DELETE OR UPDATE OF "Amount", {key} ON {pay} '
            f"FOR EACH ROW EXECUTE FUNCTION asstio_{p}_paid()",
            f"tr_{p}_paid_truncate": f"CREATE TRIGGER tr_{p}_paid_truncate "
            f"AFTER TRUNCATE ON {pay} FOR EACH STATEMENT EXECUTE FUNCTION asstio_{p}_truncated()",
            f"tr_{tag}_paid": f"CREATE TRIGGER tr_{tag}_paid BEFORE INSERT ON {doc} "
            f"FOR EACH ROW EXECUTE FUNCTION asstio_{tag}_paid()",
        }

    def triggers(self, conn: sa.Connection) -> dict[str, str]:
        return self.pg_triggers() if conn.dialect.name == "postgresql" else self.sqlite_triggers()

    def existing_triggers(self, conn: sa.Connection) -> set[str]:
        """The triggers of this balance the database has."""
        return triggers_present(conn, list(self.triggers(conn)), (self.documents, self.payments))

    def install(self, conn: sa.Connection) -> bool:
        if conn.dialect.name == "postgresql":
            # Two upgrades at once (a sync run and index-search) would both find a trigger
            # missing and the second fail creating it: one at a time per database, until commit.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('asstio_balances'))")
        inspector = sa.inspect(conn)
        if not (inspector.has_table(self.documents.name) and inspector.has_table(self.payments.name)):
            return False
        columns = {column["name"] for column in inspector.get_columns(self.documents.name)}
        missing = set(self.triggers(conn)) - self.existing_triggers(conn)
        indexes = {index["name"] for index in inspector.get_indexes(self.documents.name)}
        if "PaidAmount" in columns and not missing and {i.name for i in self.indexes} <= indexes:
            return False
        if "PaidAmount" not in columns:
            table = self.documents.name
            conn.exec_driver_sql(
                f'ALTER TABLE "{table}" ADD COLUMN "PaidAmount" NUMERIC(18, 2) NOT NULL DEFAULT 0'
            )
        if missing:
            # Triggers first, then the balances: a payment written meanwhile waits for this
            # transaction (PostgreSQL) or for the write lock (SQLite), and is counted once.
            if conn.dialect.name == "postgresql":
                for function in self.pg_functions():
                    conn.exec_driver_sql(function)
            for name in sorted(missing):
                conn.exec_driver_sql(self.triggers(conn)[name])
            self.backfill(conn)
        for index in self.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
        return True

    def backfill(self, conn: sa.Connection) -> None:
        """Every document's ``PaidAmount`` from its payments, in two statements that write only
        the rows that are wrong (a bulk loader may have set them already)."""
        doc, pay, key, _, _ = self.names
        paid = f'SELECT {key} AS "DocumentId", round(sum("Amount"), 2) AS "Paid" FROM {pay} GROUP BY {key}'
        conn.exec_driver_sql(
            f'UPDATE {doc} SET "PaidAmount" = p."Paid" FROM ({paid}) AS p '
            f'WHERE {doc}."Id" = p."DocumentId" AND {doc}."PaidAmount" <> p."Paid"'
        )
        conn.exec_driver_sql(
            f'UPDATE {doc} SET "PaidAmount" = 0 WHERE "PaidAmount" <> 0 '
            f'AND NOT EXISTS (SELECT 1 FROM {pay} WHERE {pay}.{key} = {doc}."Id")'
        )


SALES = Balance(s.orders, s.payments, "OrderId", "orders", "payment")
SUPPLIER = Balance(
    supplier_invoices, supplier_payments, "SupplierInvoiceId", "supplier_invoice", "supplier_payment"
)
BALANCES = (SALES, SUPPLIER)


def balance_kept(conn: sa.Connection, balance: Balance = SALES) -> bool:
    """Whether this database keeps ``balance`` (all its triggers are there). A yes is remembered
    per database connection, so the check costs one catalog query per connection."""
    key = f"balance_kept:{balance.tag}"
    if conn.info.get(key):
        return True
    kept = conn.dialect.name in ("sqlite", "postgresql") and balance.existing_triggers(conn) == set(
        balance.triggers(conn)
    )
    if kept:
        conn.info[key] = True
    else:
        _tell_to_upgrade(conn)
    return kept


def _tell_to_upgrade(conn: sa.Connection) -> None:
    """Say once per database that it answers by summing payments, and how to stop that."""
    name = redacted_url(conn.engine.url.render_as_string(hide_password=True))
    if name not in _told:
        _told.add(name)
        log.warning(
            "%s predates kept open balances: receivables, payables and the open-amount filters sum "
            "every payment on each call (right, but slow on a large ledger); upgrade it once with "
            "`asstio-mcp index-search --database-url URL`",
            name,
        )


def install(conn: sa.Connection) -> bool:
    """Make this database keep every ``PaidAmount``: the column (added to an older table), the
    triggers, every row's balance set once from its payments, and the open-invoice indexes.
    Idempotent and cheap when already done; returns whether anything had to be done."""
    if conn.dialect.name not in ("sqlite", "postgresql"):
        return False
    line_indexes.install(conn)  # the summaries' covering indexes (SQLite), by the same upgrade
    kept = [balance.install(conn) for balance in BALANCES]  # each takes the advisory lock first
    return any([*kept, line_months.install(conn)])  # the summaries' monthly line sums, likewise


def install_on(engine: sa.Engine) -> bool:
    """``install`` in a transaction of its own. On PostgreSQL an upgrade then vacuums the
    documents: the backfill left a dead version of every paid one, which the partial indexes
    would list (and index-only scans visit) until autovacuum came by."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            # The write lock before looking: a second upgrader waits, then finds the work done
            # (PostgreSQL's upgraders queue on an advisory lock in ``Balance.install``).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        upgraded = install(conn)
    if upgraded and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (*(balance.documents for balance in BALANCES), line_months.TABLE):
                conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table.name}"')
    return upgraded


def _installed_with_the_schema(target: sa.Table, connection: sa.Connection, **_kw: object) -> None:
    if connection.dialect.name in ("sqlite", "postgresql"):
        next(b for b in BALANCES if b.payments is target).install(connection)


for _balance in BALANCES:
    sa.event.listen(_balance.payments, "after_create", _installed_with_the_schema)
