"""OrderItemMonth, the lines added up per month that the database keeps (tools/line_months.py):
the product summaries read it for whole months and stay right, through the REST door, after
lines and documents are inserted, changed, moved and deleted by plain SQL, and in a tenant made
before it existed, before and after its upgrade. The oracle is SQL of its own over the lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo.tenants import seed_database
from mcp_server.cli import main
from tests import test_wisedat as wisedat
from tests.questions.oracle import Books
from tests.source_support import tenant_database
from tests.support import (
    TODAY,
    cents,
    postgres_database,
    postgres_reachable,
    require_service,
    rest_client,
    start_server,
)
from tests.wisedat_double import WisedatDouble, make_data, serve
from tools.line_months import months_kept, triggers

ORDERS = 600
KINDS = {  # measure: (document types, flag, date column)
    "sales": (("SALESINVOICE", "SALESCREDIT"), "IsSales", "DateInvoice"),
    "orderIntake": (("SALESORDER", "SALESINVOICE"), "IsOrderIntake", "DateOrder"),
}
# Whole months in the middle, a partial one at each end; the comparison year likewise.
QUESTIONS = [
    {"period": "quarter", "from": "2025-12-10", "to": TODAY.isoformat(), "compareTo": "previousYear"},
    {"period": "month", "from": "2026-01-01", "to": "2026-10-31", "compareTo": "previousPeriod"},
    {"period": "year", "from": "2025-11-21", "to": TODAY.isoformat()},
]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        tenant = f"sqlite:///{tmp_path / 'tenant.db'}"
        seed_database(tenant, seed=7, orders=ORDERS, today=TODAY, draft_lines=10)
        yield tenant
        return
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("months") as tenant:
        seed_database(tenant, seed=7, orders=ORDERS, today=TODAY, draft_lines=10)
        yield tenant


def expected(conn: sa.Connection, measure: str, first: date, last: date, product: int | None = None) -> Any:
    """Per product and in total: amount in the home currency, quantity (credit notes negative)
    and documents, summed over the lines of the counted documents dated first to last."""
    types, flag, column = KINDS[measure]
    kinds = ", ".join(f"'{t}'" for t in types)
    only = "" if product is None else f'AND i."ProductId" = {product}'
    rows = Books(conn, "SEK", TODAY).rows(
        f"""SELECT o."Id", o."CurrencyId", i."ProductId", i."SumExVat", i."QtyOrdered", t."SystemName"
            FROM "OrderItem" i JOIN "Orders" o ON o."Id" = i."OrderId"
            JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
            JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
            WHERE t."SystemName" IN ({kinds}) AND s."{flag}" = TRUE {only}
              AND o."{column}" >= :first AND o."{column}" < :after""",
        first=datetime.combine(first, datetime.min.time()),
        after=datetime.combine(last + timedelta(days=1), datetime.min.time()),
    )
    books = Books(conn, "SEK", TODAY)
    amounts: dict[Any, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    quantity: dict[Any, Decimal] = defaultdict(Decimal)
    documents: dict[Any, set[int]] = defaultdict(set)
    for r in rows:
        sign = -1 if r.SystemName == "SALESCREDIT" else 1
        for key in (r.ProductId, "total"):
            amounts[key][r.CurrencyId] += cents(r.SumExVat)
            quantity[key] += Decimal(str(r.QtyOrdered)) * sign
            documents[key].add(r.Id)
    return {
        key: (books.in_home(amounts[key]), quantity[key].normalize(), len(documents[key])) for key in amounts
    }


def told(figures: dict[str, Any]) -> tuple[Decimal, Decimal, int]:
    quantity = Decimal(str(figures["quantity"])).normalize()
    return Decimal(str(figures["amountHome"])), quantity, figures["documentCount"]


async def assert_right(url: str, tmp_path: Path, *, kept: bool) -> None:
    """Every question's total, groups and comparison as the oracle adds them up."""
    engine = sa.create_engine(url)
    server = start_server(tmp_path / f"server-{datetime.now().timestamp()}", {"demo": url})
    try:
        with engine.connect() as conn:
            assert months_kept(conn) == kept
            async with rest_client(server) as rest:
                for measure in KINDS:
                    for question in QUESTIONS:
                        await assert_answer(rest, conn, {"measure": measure, **question})
                product = most_sold(conn)
                await assert_answer(rest, conn, {**QUESTIONS[0], "productId": product}, product)
    finally:
        server.stop()
        engine.dispose()


async def assert_answer(
    rest: Any, conn: sa.Connection, question: dict[str, Any], product: int | None = None
) -> None:
    params = {**question, "groupBy": "product", "top": 50} if product is None else question
    body = (await rest.get("/summary", params=params)).raise_for_status().json()
    measure = question.get("measure", "sales")
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    oracle = expected(conn, measure, first, last, product)
    assert told(body["total"]) == oracle.get("total", (0, 0, 0)), question
    if product is None:
        assert body["groupCount"] == len(oracle) - ("total" in oracle), question
        for group in body["groups"]:
            assert told(group) == oracle[group["id"]], (question, group["id"])
    for figures in body["periods"]:
        start = date.fromisoformat(figures["start"])
        end = min(last, next_start(start, body["period"]) - timedelta(days=1))
        in_period = expected(conn, measure, max(first, start), end, product).get("total", (0, 0, 0))
        assert told(figures) == in_period, (question, figures)
    if body["comparison"] is not None:
        before = body["comparison"]
        back = expected(
            conn, measure, date.fromisoformat(before["from"]), date.fromisoformat(before["to"]), product
        )
        assert told(before["total"]) == back.get("total", (0, 0, 0)), question


def next_start(start: date, period: str) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def most_sold(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.text(
                'SELECT "ProductId" FROM "OrderItem" WHERE "ProductId" IS NOT NULL '
                'GROUP BY "ProductId" ORDER BY count(*) DESC, "ProductId" LIMIT 1'
            )
        ).scalar_one()
    )


def drift(conn: sa.Connection) -> list[Any]:
    """Rows of OrderItemMonth that differ from the lines added up again (both ways; a row
    whose lines all left stays with no documents, as if absent)."""
    month = {
        "sqlite": lambda c: f"strftime('%Y-%m-01', o.\"{c}\")",
        "postgresql": lambda c: f"CAST(date_trunc('month', o.\"{c}\") AS DATE)",
    }[conn.dialect.name]
    wanted: dict[tuple[Any, ...], tuple[Decimal, Decimal, int]] = {}
    for column in ("DateInvoice", "DateOrder"):
        for product in ('COALESCE(i."ProductId", 0)', "-1"):
            rows = conn.execute(
                sa.text(
                    f"""SELECT {month(column)} AS m, {product} AS p, o."CurrencyId", o."OrderStatusId",
                               SUM(i."SumExVat"), SUM(i."QtyOrdered"), COUNT(DISTINCT o."Id")
                        FROM "OrderItem" i JOIN "Orders" o ON o."Id" = i."OrderId"
                        WHERE o."{column}" IS NOT NULL GROUP BY 1, 2, 3, 4"""
                )
            ).all()
            for r in rows:
                wanted[(column, str(r[0])[:10], *r[1:4])] = (
                    cents(r[4]),
                    Decimal(str(r[5])).normalize(),
                    r[6],
                )
    kept = {
        (r[0], str(r[1])[:10], *r[2:5]): (cents(r[5]), Decimal(str(r[6])).normalize(), r[7])
        for r in conn.execute(sa.text('SELECT * FROM "OrderItemMonth" WHERE "Documents" <> 0')).all()
    }
    return sorted(
        (key, wanted.get(key), kept.get(key))
        for key in wanted.keys() | kept.keys()
        if wanted.get(key) != kept.get(key)
    )


def statuses(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.text(
            """SELECT t."SystemName", s."IsSales", s."Id" FROM "OrderStatus" s
               JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId" ORDER BY s."Id" """
        )
    ).all()
    pick = {}
    for name, counted, status_id in rows:
        pick.setdefault(f"{name}:{bool(counted)}", status_id)
    return {
        "invoice": pick["SALESINVOICE:True"],
        "uncounted": pick["SALESINVOICE:False"],
        "credit": pick["SALESCREDIT:True"],
    }


ORDER_COLUMNS = (
    '"OrderStatusId", "CompanyId", "Name", "PurchaseNumber", "InvoiceNumber", "DateDelivery", "DateDue", '
    '"CurrencyId", "TotalExVat", "TotalVat", "TotalIncVat"'
)


def new_document(conn: sa.Connection, like: int, *, status: int, invoiced: datetime) -> int:
    new_id = conn.execute(sa.text('SELECT MAX("Id") + 1 FROM "Orders"')).scalar_one()
    conn.execute(
        sa.text(
            f'INSERT INTO "Orders" ("Id", "DateOrder", "DateInvoice", {ORDER_COLUMNS}) '
            f'SELECT :i, :ordered, :invoiced, {ORDER_COLUMNS} FROM "Orders" WHERE "Id" = :like'
        ).bindparams(sa.bindparam("ordered", type_=sa.DateTime), sa.bindparam("invoiced", type_=sa.DateTime)),
        {"i": new_id, "like": like, "ordered": invoiced - timedelta(days=3), "invoiced": invoiced},
    )
    conn.execute(
        sa.text('UPDATE "Orders" SET "OrderStatusId" = :s WHERE "Id" = :i'), {"s": status, "i": new_id}
    )
    return int(new_id)


def new_line(conn: sa.Connection, order: int, product: int | None, qty: str, amount: str) -> int:
    new_id = conn.execute(sa.text('SELECT MAX("Id") + 1 FROM "OrderItem"')).scalar_one()
    conn.execute(
        sa.text(
            'INSERT INTO "OrderItem" ("Id", "OrderId", "LineNo", "ProductId", "Description", "QtyOrdered", '
            '"QtyDelivered", "Price", "Discount", "VatRate", "SumExVat", "SumIncVat") '
            "VALUES (:i, :o, :i, :p, 'test line', :q, 0, 1, 0, 0.25, :a, :a)"
        ).bindparams(sa.bindparam("q", type_=sa.Numeric(18, 3)), sa.bindparam("a", type_=sa.Numeric(18, 2))),
        {"i": new_id, "o": order, "p": product, "q": Decimal(qty), "a": Decimal(amount)},
    )
    return int(new_id)


def an_invoice(conn: sa.Connection, status: int, month: str) -> int:
    """The first invoice of ``status`` from ``month`` on with two lines or more."""
    return int(
        conn.execute(
            sa.text(
                'SELECT min(o."Id") FROM "Orders" o WHERE o."OrderStatusId" = :s AND o."DateInvoice" >= :m '
                'AND (SELECT COUNT(*) FROM "OrderItem" i WHERE i."OrderId" = o."Id") >= 2'
            ).bindparams(sa.bindparam("m", type_=sa.DateTime)),
            {"s": status, "m": datetime.fromisoformat(month)},
        ).scalar_one()
    )


def write(url: str, *statements: Any) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                statement(conn)
            assert drift(conn) == []
    finally:
        engine.dispose()


async def test_lines_and_documents_written_by_plain_sql_keep_the_product_summaries_right(
    url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert drift(conn) == []
        status = statuses(conn)
        product = most_sold(conn)
        other = int(
            conn.execute(
                sa.text('SELECT min("Id") FROM "Product" WHERE "Id" <> :p'), {"p": product}
            ).scalar_one()
        )
        like = an_invoice(conn, status["invoice"], "2026-03-01")
        moved = an_invoice(conn, status["invoice"], "2026-06-01")
    engine.dispose()
    made: dict[str, int] = {}

    def insert(conn: sa.Connection) -> None:  # a new invoice in March: two lines of one product, one of none
        made["doc"] = new_document(conn, like, status=status["invoice"], invoiced=datetime(2026, 3, 15))
        made["a"] = new_line(conn, made["doc"], product, "2", "100.10")
        made["b"] = new_line(conn, made["doc"], product, "3.5", "250.25")
        made["c"] = new_line(conn, made["doc"], None, "1", "9.99")
        made["credit"] = new_document(conn, like, status=status["credit"], invoiced=datetime(2026, 11, 20))
        new_line(conn, made["credit"], product, "1", "-50.05")
        made["copy"] = new_document(conn, like, status=status["invoice"], invoiced=datetime(2026, 8, 31))
        copy_lines(conn, like, made["copy"])  # several lines in one statement

    def copy_lines(conn: sa.Connection, source: int, target: int) -> None:
        top = conn.execute(sa.text('SELECT MAX("Id") FROM "OrderItem"')).scalar_one()
        columns = '"LineNo", "ProductId", "Description", "VendorProductNumber", "QtyOrdered", '
        columns += '"QtyDelivered", "Price", "Discount", "VatRate", "SumExVat", "SumIncVat"'
        conn.execute(
            sa.text(
                f'INSERT INTO "OrderItem" ("Id", "OrderId", {columns}) '
                f'SELECT "Id" + :top, :target, {columns} FROM "OrderItem" WHERE "OrderId" = :source'
            ),
            {"top": top, "target": target, "source": source},
        )

    write(url, insert)
    await assert_right(url, tmp_path, kept=True)

    def change(conn: sa.Connection) -> None:  # a line changed, given another product, moved to June
        conn.execute(
            sa.text('UPDATE "OrderItem" SET "SumExVat" = 300.30, "QtyOrdered" = 4 WHERE "Id" = :i'),
            {"i": made["a"]},
        )
        conn.execute(
            sa.text('UPDATE "OrderItem" SET "ProductId" = :p WHERE "Id" = :i'), {"p": other, "i": made["b"]}
        )
        conn.execute(
            sa.text('UPDATE "OrderItem" SET "OrderId" = :o WHERE "Id" = :i'), {"o": moved, "i": made["c"]}
        )
        one = 'UPDATE "OrderItem" SET "ProductId" = :p WHERE "OrderId" = :o'  # several lines, one product
        conn.execute(sa.text(one), {"p": product, "o": made["copy"]})
        same = 'UPDATE "OrderItem" SET "OrderId" = "OrderId", "SumExVat" = "SumExVat" WHERE "OrderId" = :o'
        conn.execute(sa.text(same), {"o": moved})  # an upsert writing what is there already

    write(url, change)
    await assert_right(url, tmp_path, kept=True)

    def redate(conn: sa.Connection) -> None:  # documents moved in time, out of the counted statuses, to EUR
        conn.execute(
            sa.text('UPDATE "Orders" SET "DateInvoice" = :d WHERE "Id" = :i').bindparams(
                sa.bindparam("d", type_=sa.DateTime)
            ),
            {"d": datetime(2025, 12, 3), "i": made["doc"]},
        )
        conn.execute(
            sa.text('UPDATE "Orders" SET "OrderStatusId" = :s WHERE "Id" = :i'),
            {"s": status["uncounted"], "i": moved},
        )
        conn.execute(sa.text('UPDATE "Orders" SET "CurrencyId" = 2 WHERE "Id" = :i'), {"i": like})
        same = 'UPDATE "Orders" SET "DateInvoice" = "DateInvoice", "OrderStatusId" = "OrderStatusId" '
        same += 'WHERE "Id" = :i'
        conn.execute(sa.text(same), {"i": like})

    write(url, redate)
    await assert_right(url, tmp_path, kept=True)

    def delete(conn: sa.Connection) -> None:  # a line, then a whole document with its lines
        conn.execute(sa.text('DELETE FROM "OrderItem" WHERE "Id" = :i'), {"i": made["a"]})
        conn.execute(
            sa.text('DELETE FROM "OrderItem" WHERE "OrderId" = :i AND "LineNo" > 1'), {"i": made["copy"]}
        )
        if conn.dialect.name == "sqlite":  # lines left without their document count for nothing
            conn.execute(sa.text('DELETE FROM "Orders" WHERE "Id" = :i'), {"i": made["doc"]})
            conn.execute(sa.text('DELETE FROM "OrderItem" WHERE "OrderId" = :i'), {"i": made["doc"]})
        else:  # its foreign keys want the lines gone first
            conn.execute(sa.text('DELETE FROM "OrderItem" WHERE "OrderId" = :i'), {"i": made["doc"]})
            conn.execute(sa.text('DELETE FROM "Orders" WHERE "Id" = :i'), {"i": made["doc"]})

    write(url, delete)
    await assert_right(url, tmp_path, kept=True)


def make_old(url: str) -> None:
    """The tenant as an older version left it: no OrderItemMonth, no triggers."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for trigger in triggers(conn):
                if conn.dialect.name == "postgresql":
                    for table in ("Orders", "OrderItem"):
                        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"')
                else:
                    conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
            conn.exec_driver_sql('DROP TABLE "OrderItemMonth"')
    finally:
        engine.dispose()


async def test_a_tenant_made_before_the_monthly_sums_answers_right_and_is_upgraded_once(
    url: str, tmp_path: Path
) -> None:
    make_old(url)
    await assert_right(url, tmp_path, kept=False)  # from the lines, as before
    main(["index-search", "--database-url", url])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert drift(conn) == []
    engine.dispose()
    await assert_right(url, tmp_path, kept=True)


def kept_right(database: str) -> None:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            assert months_kept(conn)
            assert conn.execute(sa.text('SELECT COUNT(*) FROM "OrderItemMonth"')).scalar_one() > 0
            assert drift(conn) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_synced_tenant_keeps_the_monthly_sums_through_edits_and_deletions_at_the_source(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with ExitStack() as stack:
        database = tenant_database(kind, stack, tmp_path_factory, "wisemonths")
        double = WisedatDouble(make_data())
        url = stack.enter_context(serve(double))
        wisedat.sync(database, url, double)  # the schema, its triggers, then every document written
        kept_right(database)
        data = double.data
        paid = [p["associated_documents"][0]["id"] for p in data.payments]
        invoice = next(i for i in data.invoices if i["id"] == paid[2])
        order = next(o for o in data.orders if not (o["closed"] or o["canceled"]))
        wisedat.delete_at_wisedat(url, double, "/salesinvoices", str(invoice["id"]))
        wisedat.delete_at_wisedat(url, double, "/orders", str(order["id"]))
        wisedat.sync(database, url, double)
        kept_right(database)
        wisedat.sync(database, url, double, full=True)
        kept_right(database)


async def test_the_top_products_are_the_largest_by_value_or_quantity_with_ties_in_id_order(
    url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status = statuses(conn)
        like = an_invoice(conn, status["invoice"], "2026-03-01")
        tied = [None, *conn.execute(sa.text('SELECT "Id" FROM "Product" ORDER BY "Id" LIMIT 2')).scalars()]

    def insert(conn: sa.Connection) -> None:  # two products equal at the top, lines without one too
        unsold = 'UPDATE "OrderItem" SET "ProductId" = NULL WHERE "ProductId" IN (:a, :b)'
        conn.execute(sa.text(unsold), {"a": tied[1], "b": tied[2]})
        order = new_document(conn, like, status=status["invoice"], invoiced=datetime(2026, 5, 12))
        for product in reversed(tied):
            new_line(conn, order, product, "999999", "99999999.99")

    write(url, insert)
    server = start_server(tmp_path / "server", {"demo": url})
    try:
        with engine.connect() as conn:
            assert months_kept(conn)
            async with rest_client(server) as rest:
                for rank_by, size, top in (
                    ("value", 0, 7),
                    ("quantity", 1, 7),
                    ("value", 0, 2),
                    ("quantity", 1, 2),
                ):
                    for question in QUESTIONS:
                        params: dict[str, Any] = {
                            **question,
                            "groupBy": "product",
                            "top": top,
                            "rankBy": rank_by,
                        }
                        body = (await rest.get("/summary", params=params)).raise_for_status().json()
                        first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
                        oracle = expected(conn, "sales", first, last)
                        groups = [key for key in oracle if key != "total"]
                        groups.sort(key=lambda key: (-oracle[key][size], -1 if key is None else key))
                        assert [group["id"] for group in body["groups"]] == groups[:top], params
                        assert (body["groupCount"], body["truncated"]) == (len(groups), len(groups) > top)
                        if first <= date(2026, 5, 12) <= last:  # the cut of top 2 between the equal two
                            assert groups[:3] == tied  # no product has the most: its other lines
                            assert oracle[tied[1]][size] == oracle[tied[2]][size]
    finally:
        server.stop()
        engine.dispose()


def purchased(
    conn: sa.Connection, first: date, last: date, product: int | None = None, vendor: int | None = None
) -> Any:
    """Per product and in total, as ``expected``: the lines of the purchase orders dated first to
    last that are active (IsPurchase) or on any of whose lines goods were received."""
    only = "" if product is None else f'AND i."ProductId" = {product}'
    only += "" if vendor is None else f' AND o."CompanyId" = {vendor}'
    rows = Books(conn, "SEK", TODAY).rows(
        f"""SELECT o."Id", o."CurrencyId", i."ProductId", i."SumExVat", i."QtyOrdered"
            FROM "OrderItem" i JOIN "Orders" o ON o."Id" = i."OrderId"
            JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
            JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
            WHERE t."SystemName" = 'PURCHASEORDER' {only}
              AND (s."IsPurchase" = TRUE OR EXISTS (SELECT 1 FROM "OrderItem" l
                   JOIN "InvTransaction" r ON r."OrderItemId" = l."Id" WHERE l."OrderId" = o."Id"))
              AND o."DateOrder" >= :first AND o."DateOrder" < :after""",
        first=datetime.combine(first, datetime.min.time()),
        after=datetime.combine(last + timedelta(days=1), datetime.min.time()),
    )
    amounts: dict[Any, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    quantity: dict[Any, Decimal] = defaultdict(Decimal)
    documents: dict[Any, set[int]] = defaultdict(set)
    for r in rows:
        for key in (r.ProductId, "total"):
            amounts[key][r.CurrencyId] += cents(r.SumExVat)
            quantity[key] += Decimal(str(r.QtyOrdered))
            documents[key].add(r.Id)
    books = Books(conn, "SEK", TODAY)
    return {
        key: (books.in_home(amounts[key]), quantity[key].normalize(), len(documents[key])) for key in amounts
    }


def a_received_purchase_order(conn: sa.Connection) -> tuple[int, int]:
    """A closed purchase order of this year (counted because goods were received) and its vendor."""
    row = conn.execute(
        sa.text(
            """SELECT min(o."Id") AS "Id" FROM "Orders" o
               JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
               JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
               WHERE t."SystemName" = 'PURCHASEORDER' AND s."IsPurchase" = FALSE AND o."DateOrder" >= :m
                 AND EXISTS (SELECT 1 FROM "OrderItem" l JOIN "InvTransaction" r ON r."OrderItemId" = l."Id"
                             WHERE l."OrderId" = o."Id")"""
        ).bindparams(sa.bindparam("m", type_=sa.DateTime)),
        {"m": datetime(TODAY.year, 1, 1)},
    ).one()
    vendor = conn.execute(
        sa.text('SELECT "CompanyId" FROM "Orders" WHERE "Id" = :i'), {"i": row.Id}
    ).scalar_one()
    return int(row.Id), int(vendor)


async def test_purchases_per_product_count_every_line_of_a_purchase_order_with_goods_received(
    url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        order, vendor = a_received_purchase_order(conn)
        product = conn.execute(sa.text('SELECT max("Id") FROM "Product"')).scalar_one()
    line: list[int] = []
    # A line nothing was received on yet, on an order that counts by the goods of its other lines.
    write(url, lambda conn: line.append(new_line(conn, order, product, "1000", "9999999.99")))
    questions: list[tuple[dict[str, Any], int | None]] = [
        ({"groupBy": "product", "top": 50}, None),
        ({"groupBy": "product", "top": 50, "vendorId": vendor}, None),
        ({"productId": product}, product),
    ]
    server = start_server(tmp_path / "server", {"demo": url})
    first, last = date(TODAY.year, 1, 1), TODAY
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.text('SELECT count(*) FROM "InvTransaction" WHERE "OrderItemId" = :i'), {"i": line[0]}
                ).scalar_one()
                == 0
            )
            async with rest_client(server) as rest:
                for question, only in questions:
                    params = {"measure": "purchases", "period": "year", "from": first.isoformat(), **question}
                    body = (await rest.get("/summary", params=params)).raise_for_status().json()
                    oracle = purchased(conn, first, last, only, question.get("vendorId"))
                    assert told(body["total"]) == oracle["total"], question
                    for group in body["groups"]:
                        assert told(group) == oracle[group["id"]], (question, group["id"])
                    if only is None:
                        assert body["groupCount"] == len(oracle) - 1, question
                        assert product in [group["id"] for group in body["groups"]], question
    finally:
        server.stop()
        engine.dispose()
