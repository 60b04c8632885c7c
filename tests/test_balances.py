"""Orders.PaidAmount, the open balance the database keeps (tools/balances.py): right after
payments are inserted, changed, moved and deleted by plain SQL, and in a tenant database made
before it existed, whose answers stay right before and after the upgrade. The oracle sums the
Payment rows in SQL of its own (tests/questions/oracle.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo.tenants import seed_database
from mcp_server.cli import main
from tests.questions.oracle import Books
from tests.support import TODAY, cents, postgres_database, postgres_reachable, require_service
from tools.balances import SUPPLIER, balance_kept, install_on
from tools.db import create_tenant_engine
from tools.view import ViewContext, registered_views

ORDERS = 600


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        tenant = f"sqlite:///{tmp_path / 'tenant.db'}"
        seed_database(tenant, seed=5, orders=ORDERS, today=TODAY)
        yield tenant
        return
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("balance") as tenant:
        seed_database(tenant, seed=5, orders=ORDERS, today=TODAY)
        # A password in the query string, as libpq takes it (trust auth ignores it here): it
        # must never be shown in what the server logs or prints about this database.
        yield tenant + ("&" if "?" in tenant else "?") + f"password={SECRET}"


SECRET = "hunter2-not-for-logs"
TABLES = (("Orders", "Payment", "OrderId"), ("SupplierInvoice", "SupplierPayment", "SupplierInvoiceId"))


def drift(conn: sa.Connection) -> list[Any]:
    """Documents (sales and supplier) whose PaidAmount is not the sum of their payments, to the cent."""
    wrong = []
    for documents, payments, key in TABLES:
        paid = f'(SELECT SUM(p."Amount") FROM "{payments}" p WHERE p."{key}" = d."Id")'
        sql = f'SELECT d."Id", d."PaidAmount", {paid} FROM "{documents}" d '
        sql += f'WHERE round(d."PaidAmount", 2) <> round(COALESCE({paid}, 0), 2)'
        wrong += [(documents, *row) for row in conn.execute(sa.text(sql)).all()]
    return wrong


VIEWS = {view.name: view for view in registered_views()}
OPEN_MIN = Decimal(1000)


def ask(conn: sa.Connection, name: str, **args: Any) -> Any:
    view = VIEWS[name]
    return view.query(conn, ViewContext(tenant="t", sub="s", today=TODAY), view.params(**args))


def walk(conn: sa.Connection, name: str, **args: Any) -> list[Any]:
    rows, cursor = [], None
    while True:
        page = ask(conn, name, page_size=100, cursor=cursor, **args)
        rows += page.items
        if not (cursor := page.next_cursor):
            return rows


def answers(url: str) -> dict[str, Any]:
    """What a user is told, through the views on a read-only connection, and what the oracle says."""
    engine = create_tenant_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            books = Books(conn, "SEK", TODAY)
            expected = books.aging()
            told = ask(conn, "receivables", limit=100).customers
            late = walk(conn, "sales-invoices", isLate=True)
            owing = walk(conn, "customers", openMin=OPEN_MIN, inactive=True)
            payable = walk(conn, "payables", state="open")
            return {
                "kept": {balance_kept(conn), balance_kept(conn, SUPPLIER)},
                "aging": {r.customer_id: (r.open, r.overdue, r.overdue_over90) for r in told},
                "expected": {c: (r["open"], r["overdue"], r["overdueOver90"]) for c, r in expected.items()},
                "late": {r.id: r.open_amount for r in late},
                "expectedLate": {inv.id: inv.amount for inv in books.late_invoices()},
                "owing": {r.id: r.open_amount_home for r in owing},
                "expectedOwing": {c: r["open"] for c, r in expected.items() if r["open"] >= OPEN_MIN},
                "payable": [(r.supplier_invoice_id, r.paid_amount, r.open_amount) for r in payable],
                "expectedPayable": open_supplier_invoices(conn),
            }
    finally:
        engine.dispose()


def assert_right(url: str, *, kept: bool) -> None:
    told = answers(url)
    assert told["kept"] == {kept}
    assert told["aging"] == told["expected"]
    assert told["late"] == told["expectedLate"]
    assert told["owing"] == told["expectedOwing"]
    assert told["payable"] == told["expectedPayable"]


def open_supplier_invoices(conn: sa.Connection) -> list[tuple[int, Decimal, Decimal]]:
    """Supplier invoices with something left to pay, earliest due first: (id, paid, open)."""
    rows = conn.execute(
        sa.text(
            """SELECT i."Id", i."TotalIncVat", i."DateDue",
                      (SELECT SUM(p."Amount") FROM "SupplierPayment" p WHERE p."SupplierInvoiceId" = i."Id")
                          AS "Paid"
               FROM "SupplierInvoice" i"""
        )
    ).all()
    money = [(r.DateDue, r.Id, cents(r.Paid), cents(r.TotalIncVat) - cents(r.Paid)) for r in rows]
    return [
        (i, paid, left) for _, i, paid, left in sorted(money, key=lambda r: (str(r[0]), r[1])) if left > 0
    ]


def open_invoices(url: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return Books(conn, "SEK", TODAY).open_invoices()
    finally:
        engine.dispose()


def test_payments_written_by_plain_sql_keep_the_balance_right(url: str) -> None:
    first, second = open_invoices(url)[:2]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert drift(conn) == []
            new_id = conn.execute(sa.text('SELECT MAX("Id") + 1 FROM "Payment"')).scalar_one()
            conn.execute(
                sa.text(
                    'INSERT INTO "Payment" ("Id", "OrderId", "Amount", "DatePaid") VALUES (:i, :o, :a, :d)'
                ),
                {"i": new_id, "o": first.id, "a": str(first.amount), "d": datetime(2026, 11, 20)},
            )
        assert first.id not in {inv.id for inv in open_invoices(url)}  # paid in full now
        assert_right(url, kept=True)
        with engine.begin() as conn:
            conn.execute(
                sa.text('UPDATE "Payment" SET "Amount" = "Amount" - 10.05 WHERE "Id" = :i'), {"i": new_id}
            )
            assert drift(conn) == []
        assert_right(url, kept=True)
        with engine.begin() as conn:  # moved to another invoice
            conn.execute(
                sa.text('UPDATE "Payment" SET "OrderId" = :o WHERE "Id" = :i'), {"o": second.id, "i": new_id}
            )
            assert drift(conn) == []
        assert_right(url, kept=True)
        if engine.dialect.name == "sqlite":  # a bulk idiom: the replaced row is not counted twice
            with engine.begin() as conn:
                conn.execute(
                    sa.text('INSERT OR REPLACE INTO "Payment" SELECT * FROM "Payment" WHERE "Id" = :i'),
                    {"i": new_id},
                )
                assert drift(conn) == []
            assert_right(url, kept=True)
        with engine.begin() as conn:
            conn.execute(sa.text('DELETE FROM "Payment" WHERE "OrderId" = :o'), {"o": first.id})
            conn.execute(sa.text('DELETE FROM "Payment" WHERE "Id" = :i'), {"i": new_id})
            assert drift(conn) == []
        assert_right(url, kept=True)
        supplier_payments_by_plain_sql(engine)
        assert_right(url, kept=True)
        if engine.dialect.name == "postgresql":
            return  # its foreign keys keep a document with payments from being deleted
        with engine.begin() as conn:  # SQLite: an invoice written again after its payments
            row = (
                conn.execute(sa.text('SELECT * FROM "Orders" WHERE "Id" = :o'), {"o": second.id})
                .mappings()
                .one()
            )
            conn.execute(sa.text('DELETE FROM "Orders" WHERE "Id" = :o'), {"o": second.id})
            values = {k: v for k, v in row.items() if k != "PaidAmount"}
            names = ", ".join(f'"{k}"' for k in values)
            marks = ", ".join(f":{k}" for k in values)
            conn.execute(sa.text(f'INSERT INTO "Orders" ({names}) VALUES ({marks})'), values)
            assert drift(conn) == []
        assert_right(url, kept=True)
    finally:
        engine.dispose()


def supplier_payments_by_plain_sql(engine: sa.Engine) -> None:
    """A supplier payment inserted, changed, moved to another invoice and deleted."""
    with engine.begin() as conn:
        first, second = conn.execute(
            sa.text('SELECT "Id", "TotalIncVat" - "PaidAmount" FROM "SupplierInvoice" ORDER BY "Id" LIMIT 2')
        ).all()
        new_id = conn.execute(sa.text('SELECT MAX("Id") + 1 FROM "SupplierPayment"')).scalar_one()
        conn.execute(
            sa.text(
                'INSERT INTO "SupplierPayment" ("Id", "SupplierInvoiceId", "Amount", "DatePaid") '
                "VALUES (:i, :o, 123.45, :d)"
            ),
            {"i": new_id, "o": first[0], "d": datetime(2026, 11, 20)},
        )
        assert drift(conn) == []
        statements = (
            'UPDATE "SupplierPayment" SET "Amount" = 99.99 WHERE "Id" = :i',
            f'UPDATE "SupplierPayment" SET "SupplierInvoiceId" = {second[0]} WHERE "Id" = :i',
            'DELETE FROM "SupplierPayment" WHERE "Id" = :i',
        )
        for statement in statements:
            conn.execute(sa.text(statement), {"i": new_id})
            assert drift(conn) == []
        conn.execute(  # and the first invoice paid in full
            sa.text(
                'INSERT INTO "SupplierPayment" ("Id", "SupplierInvoiceId", "Amount", "DatePaid") '
                "VALUES (:i, :o, :a, :d)"
            ),
            {"i": new_id, "o": first[0], "a": str(first[1]), "d": datetime(2026, 11, 20)},
        )
        assert drift(conn) == []


def make_old(url: str) -> None:
    """The tenant as a version before PaidAmount left it: no triggers, indexes or columns."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for name, table in (
                    ("tr_payment_paid", "Payment"),
                    ("tr_payment_paid_truncate", "Payment"),
                    ("tr_orders_paid", "Orders"),
                    ("tr_supplier_payment_paid", "SupplierPayment"),
                    ("tr_supplier_payment_paid_truncate", "SupplierPayment"),
                    ("tr_supplier_invoice_paid", "SupplierInvoice"),
                ):
                    conn.exec_driver_sql(f'DROP TRIGGER {name} ON "{table}"')
            else:
                for pay in ("payment", "supplier_payment"):
                    for name in ("insert", "update", "delete"):
                        conn.exec_driver_sql(f"DROP TRIGGER tr_{pay}_paid_{name}")
                conn.exec_driver_sql("DROP TRIGGER tr_orders_paid_insert")
                conn.exec_driver_sql("DROP TRIGGER tr_supplier_invoice_paid_insert")
            for index in ("ix_orders_open", "ix_supplier_invoice_open", "ix_supplier_invoice_open_due"):
                conn.exec_driver_sql(f"DROP INDEX {index}")
            conn.exec_driver_sql('ALTER TABLE "Orders" DROP COLUMN "PaidAmount"')
            conn.exec_driver_sql('ALTER TABLE "SupplierInvoice" DROP COLUMN "PaidAmount"')
    finally:
        engine.dispose()


def test_a_tenant_made_before_the_balance_answers_right_and_is_upgraded_once(
    url: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    make_old(url)
    first = open_invoices(url)[0]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # the old version's writers go on writing payments
            new_id = conn.execute(sa.text('SELECT MAX("Id") + 1 FROM "Payment"')).scalar_one()
            conn.execute(
                sa.text(
                    'INSERT INTO "Payment" ("Id", "OrderId", "Amount", "DatePaid") VALUES (:i, :o, :a, :d)'
                ),
                {
                    "i": new_id,
                    "o": first.id,
                    "a": str(first.amount - Decimal("0.01")),
                    "d": datetime(2026, 11, 21),
                },
            )
    finally:
        engine.dispose()
    with caplog.at_level(logging.WARNING, logger="asstio.balances"):
        assert_right(url, kept=False)  # not upgraded yet: payments summed as before
        assert_right(url, kept=False)
    # The operator is told, once for this database, how to upgrade it.
    told = [r.getMessage() for r in caplog.records if r.name == "asstio.balances"]
    assert len(told) == 1 and "asstio-mcp index-search" in told[0], told
    assert SECRET not in told[0]

    main(["index-search", "--database-url", url])
    printed = capsys.readouterr()
    assert "now kept by the database" in printed.out
    assert SECRET not in printed.out + printed.err
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert drift(conn) == []
            paid = conn.execute(sa.text('SELECT "PaidAmount" FROM "Orders" WHERE "Id" = :o'), {"o": first.id})
            assert round(Decimal(str(paid.scalar_one())), 2) == round(
                Decimal(str(first.amount)) - Decimal("0.01") + sum_before(conn, first.id, new_id), 2
            )
    finally:
        engine.dispose()
    assert_right(url, kept=True)

    main(["index-search", "--database-url", url])  # a second run has nothing left to do
    assert "now kept" not in capsys.readouterr().out


def sum_before(conn: sa.Connection, order_id: int, new_id: int) -> Decimal:
    paid = conn.execute(
        sa.text('SELECT COALESCE(SUM("Amount"), 0) FROM "Payment" WHERE "OrderId" = :o AND "Id" <> :i'),
        {"o": order_id, "i": new_id},
    ).scalar_one()
    return Decimal(str(paid))


def test_two_upgrades_of_one_old_database_at_once_both_succeed(url: str) -> None:
    """A sync run and `index-search` may upgrade the same old tenant at the same moment."""
    make_old(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def upgrade() -> None:
        start.wait(timeout=10)
        try:
            install_on(engine)
        except BaseException as exc:  # recorded, then asserted in the test's own thread
            failures.append(exc)

    try:
        threads = [threading.Thread(target=upgrade) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
    finally:
        engine.dispose()
    assert_right(url, kept=True)
