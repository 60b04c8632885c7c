"""The demo data generator: deterministic, fast to load, and true to the ERP's rules (README: Views)."""

from __future__ import annotations

import datetime
import hashlib
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo.bulk import insert_rows
from demo.generate import DemoDataExists, GenerationSummary, generate
from tools import schema

TODAY = datetime.date(2026, 5, 20)
MIDNIGHT_TODAY = datetime.datetime(2026, 5, 20)
ORDERS = 3000
SEED = 7
B_OFFSET = 50_000_000
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CENT = Decimal("0.01")


def generated(
    path: Path, *, seed: int = SEED, orders: int = ORDERS, currency: str = "SEK", offset: int = 0
) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    generate(engine, seed=seed, orders=orders, today=TODAY, default_currency=currency, id_offset=offset)
    return engine


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = generated(tmp_path_factory.mktemp("demo") / "demo.db")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def demo_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = generated(
        tmp_path_factory.mktemp("demo-b") / "demo-b.db", seed=2, currency="EUR", offset=B_OFFSET
    )
    yield engine
    engine.dispose()


def rows(engine: sa.Engine, statement: sa.Select[Any]) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(statement))


def _normalised(value: object) -> object:
    """The same stored value compares equal whichever database returned it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)):.6f}"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def digest(engine: sa.Engine) -> str:
    sha = hashlib.sha256()
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns)):
                sha.update(repr([table.name, *map(_normalised, row)]).encode())
    return sha.hexdigest()


def order_statuses(engine: sa.Engine) -> dict[int, str]:
    statement = sa.select(schema.order_statuses.c.Id, schema.order_status_types.c.SystemName).join(
        schema.order_status_types
    )
    return {status_id: system_name for status_id, system_name in rows(engine, statement)}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- determinism ------------------------------------------------------------------------


def test_the_same_seed_gives_identical_data(tmp_path: Path, demo: sa.Engine) -> None:
    again = generated(tmp_path / "again.db")
    assert digest(again) == digest(demo)


def test_a_different_seed_gives_different_data(tmp_path: Path, demo: sa.Engine) -> None:
    other = generated(tmp_path / "other.db", seed=SEED + 1)
    assert digest(other) != digest(demo)


def test_the_data_does_not_depend_on_the_interpreters_string_hashing(tmp_path: Path) -> None:
    script = (
        "import datetime, sys, sqlalchemy as sa; from demo.generate import generate; "
        "generate(sa.create_engine(sys.argv[1]), seed=7, orders=500, today=datetime.date(2026, 5, 20), "
        "default_currency='SEK')"
    )
    engines = []
    for hash_seed in ("1", "2"):
        url = f"sqlite:///{tmp_path / hash_seed}.db"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, url], env=env, check=True)
        engines.append(sa.create_engine(url))
    assert digest(engines[0]) == digest(engines[1])


def test_the_summary_counts_the_rows_written(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'summary.db'}")
    summary = generate(engine, seed=SEED, orders=2000, today=TODAY, default_currency="SEK")
    with engine.connect() as conn:
        counted = {
            "orders": conn.scalar(sa.select(sa.func.count()).select_from(schema.orders)),
            "order_items": conn.scalar(sa.select(sa.func.count()).select_from(schema.order_items)),
            "companies": conn.scalar(sa.select(sa.func.count()).select_from(schema.companies)),
        }
    assert isinstance(summary, GenerationSummary)
    assert {name: summary.by_table()[name] for name in counted} == counted
    assert summary.orders == 2000


def test_generating_into_a_database_that_holds_the_same_ids_is_refused(tmp_path: Path) -> None:
    engine = generated(tmp_path / "twice.db", orders=500)
    with pytest.raises(DemoDataExists):
        generate(engine, seed=SEED, orders=500, today=TODAY, default_currency="SEK")


def test_the_secondary_indexes_exist_after_the_load(demo: sa.Engine) -> None:
    inspector = sa.inspect(demo)
    for table in schema.metadata.sorted_tables:
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        assert {index.name for index in table.indexes} <= present, table.name


def test_bulk_rows_are_stored_exactly_as_a_core_insert_stores_them(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    schema.metadata.create_all(engine, tables=[schema.supplier_prices])
    values = (Decimal("12.50"), 2, 7, datetime.datetime(2026, 1, 31), None)
    columns = ("Price", "CurrencyId", "LeadTimeDays", "ValidFrom", "ValidTo")
    with engine.begin() as conn:
        conn.execute(
            schema.supplier_prices.insert(),
            {"Id": 1, "ProductId": 1, "SupplierId": 1, **dict(zip(columns, values, strict=True))},
        )
        insert_rows(conn, schema.supplier_prices, [(2, 1, 1, None, *values)])
        stored = conn.exec_driver_sql(
            'SELECT "Price", "CurrencyId", "ValidFrom", "ValidTo" FROM "SupplierPrice"'
        )
        assert len(set(stored)) == 1


def test_stored_dates_match_bound_datetimes(demo: sa.Engine) -> None:
    o = schema.orders.c
    with demo.connect() as conn:
        first_day = conn.scalar(sa.select(sa.func.min(o.DateOrder)))
        matching = conn.scalar(sa.select(sa.func.count()).where(o.DateOrder == first_day))
    assert matching, "a datetime bound by SQLAlchemy finds the rows stored on that day"


# -- documents --------------------------------------------------------------------------


def test_order_totals_equal_the_line_sums_and_ex_plus_vat_is_inc(demo: sa.Engine) -> None:
    items = schema.order_items.c
    line_sums: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for order_id, ex_vat, inc_vat in rows(demo, sa.select(items.OrderId, items.SumExVat, items.SumIncVat)):
        line_sums[order_id][0] += ex_vat
        line_sums[order_id][1] += inc_vat
    o = schema.orders.c
    for order_id, ex_vat, vat, inc_vat in rows(
        demo, sa.select(o.Id, o.TotalExVat, o.TotalVat, o.TotalIncVat)
    ):
        assert [ex_vat, inc_vat] == line_sums[order_id], order_id
        assert ex_vat + vat == inc_vat, order_id


def test_line_sums_follow_quantity_price_discount_and_vat(demo: sa.Engine) -> None:
    i = schema.order_items.c
    statement = sa.select(i.QtyOrdered, i.Price, i.Discount, i.VatRate, i.SumExVat, i.SumIncVat)
    for qty, price, discount, vat_rate, ex_vat, inc_vat in rows(demo, statement):
        assert ex_vat == money(qty * price * (1 - discount / 100))
        assert inc_vat == money(ex_vat * (1 + vat_rate))
        assert qty > 0


def test_invoices_and_credits_have_invoice_numbers_and_dates_and_other_documents_do_not(
    demo: sa.Engine,
) -> None:
    types = order_statuses(demo)
    o = schema.orders.c
    statement = sa.select(o.OrderStatusId, o.InvoiceNumber, o.DateOrder, o.DateInvoice, o.DateDue)
    for status_id, number, ordered, invoiced, due in rows(demo, statement):
        if types[status_id] in ("SALESINVOICE", "SALESCREDIT"):
            assert number is not None and invoiced >= ordered and due >= invoiced
        else:
            assert (number, invoiced, due) == (None, None, None)


def test_invoice_numbers_are_unique_and_run_with_the_invoice_date(demo: sa.Engine) -> None:
    o = schema.orders.c
    invoiced = rows(demo, sa.select(o.InvoiceNumber, o.DateInvoice).where(o.InvoiceNumber.is_not(None)))
    numbers = [number for number, _ in invoiced]
    assert len(set(numbers)) == len(numbers)
    dates_by_number = [invoiced_on for _, invoiced_on in sorted(invoiced)]
    assert dates_by_number == sorted(dates_by_number)


def test_purchase_orders_have_unique_purchase_numbers(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    o = schema.orders.c
    documents = rows(demo, sa.select(o.OrderStatusId, o.PurchaseNumber))
    numbers = [number for status_id, number in documents if types[status_id] == "PURCHASEORDER"]
    assert None not in numbers and len(set(numbers)) == len(numbers)
    assert all(number is None for status_id, number in documents if types[status_id] != "PURCHASEORDER")


def test_delivery_dates_are_never_null_and_past_events_are_not_after_today(demo: sa.Engine) -> None:
    o = schema.orders.c
    for ordered, delivery, invoiced in rows(demo, sa.select(o.DateOrder, o.DateDelivery, o.DateInvoice)):
        assert delivery is not None and ordered <= MIDNIGHT_TODAY
        assert invoiced is None or invoiced <= MIDNIGHT_TODAY
    assert max(day for (day,) in rows(demo, sa.select(schema.payments.c.DatePaid))) <= MIDNIGHT_TODAY
    receipts = rows(demo, sa.select(schema.inv_transactions.c.DateTransaction))
    assert max(day for (day,) in receipts) <= MIDNIGHT_TODAY
    assert max(delivery for _, delivery, _ in rows(demo, sa.select(o.DateOrder, o.DateDelivery, o.Id))) > (
        MIDNIGHT_TODAY
    )


def test_dates_are_midnights_spread_over_three_years(demo: sa.Engine) -> None:
    days = [day for (day,) in rows(demo, sa.select(schema.orders.c.DateOrder))]
    assert all(day.time() == datetime.time(0) for day in days)
    assert MIDNIGHT_TODAY - min(days) > datetime.timedelta(days=3 * 365 - 30)
    by_month: dict[int, int] = defaultdict(int)
    for day in days:
        by_month[day.month] += 1
    assert by_month[7] < by_month[4] / 2 and by_month[7] < by_month[10] / 2


def test_all_four_document_types_and_every_status_flag_occur(demo: sa.Engine) -> None:
    s, o = schema.order_statuses.c, schema.orders.c
    used = sa.select(o.OrderStatusId).distinct().subquery()
    statement = sa.select(s.OrderStatusTypeId, s.IsOrderIntake, s.IsSales, s.IsPurchase).join(
        used, used.c.OrderStatusId == s.Id
    )
    found = rows(demo, statement)
    assert {type_id for type_id, *_ in found} == {1, 2, 3, 4}
    assert all(any(flags[i] for _, *flags in found) for i in range(3))
    assert any(not any(flags) for _, *flags in found), "some documents are in unflagged statuses"


def test_credits_point_at_an_invoice_of_the_same_customer_and_are_negative(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    o = schema.orders.c
    documents = {
        row.Id: row
        for row in rows(demo, sa.select(o.Id, o.OrderStatusId, o.CompanyId, o.TotalIncVat, o.CreditOfOrderId))
    }
    credits = [row for row in documents.values() if types[row.OrderStatusId] == "SALESCREDIT"]
    assert credits
    for credit in credits:
        invoice = documents[credit.CreditOfOrderId]
        assert types[invoice.OrderStatusId] == "SALESINVOICE" and invoice.CompanyId == credit.CompanyId
        assert credit.TotalIncVat < 0
    i = schema.order_items.c
    credit_ids = {credit.Id for credit in credits}
    for order_id, qty, price in rows(demo, sa.select(i.OrderId, i.QtyOrdered, i.Price)):
        if order_id in credit_ids:
            assert qty > 0 and price < 0


def test_sales_documents_go_to_customers_and_purchase_orders_to_vendors(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    c, o = schema.companies.c, schema.orders.c
    statement = sa.select(o.OrderStatusId, c.IsCustomer, c.IsVendor).join(schema.companies)
    for status_id, is_customer, is_vendor in rows(demo, statement):
        assert is_vendor if types[status_id] == "PURCHASEORDER" else is_customer


def test_deliveries_include_short_over_partial_and_late_ones(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    o, i = schema.orders.c, schema.order_items.c
    statement = sa.select(o.OrderStatusId, o.DateDelivery, i.QtyOrdered, i.QtyDelivered).join(
        schema.order_items
    )
    seen = set()
    for status_id, delivery, qty, delivered in rows(demo, statement):
        kind = types[status_id]
        if kind == "SALESINVOICE" and delivered != qty:
            seen.add("invoiced short" if delivered < qty else "invoiced over")
        if kind == "SALESORDER" and 0 < delivered < qty:
            seen.add("partly delivered")
        if kind == "SALESORDER" and delivered < qty and delivery < MIDNIGHT_TODAY:
            seen.add("late")
    assert seen == {"invoiced short", "invoiced over", "partly delivered", "late"}


def test_open_sales_orders_are_mostly_recent(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    o, i, s = schema.orders.c, schema.order_items.c, schema.order_statuses.c
    statement = (
        sa.select(o.Id, o.OrderStatusId, o.DateOrder)
        .join(schema.order_items)
        .join(schema.order_statuses)
        .where(i.QtyDelivered < i.QtyOrdered, s.IsOrderIntake)
        .distinct()
    )
    open_orders = [row for row in rows(demo, statement) if types[row.OrderStatusId] == "SALESORDER"]
    recent = [row for row in open_orders if MIDNIGHT_TODAY - row.DateOrder <= datetime.timedelta(days=90)]
    assert len(recent) > len(open_orders) / 2


def test_payments_never_exceed_the_invoice_and_fall_between_invoice_date_and_today(demo: sa.Engine) -> None:
    o, p = schema.orders.c, schema.payments.c
    paid: dict[int, Decimal] = defaultdict(Decimal)
    statement = sa.select(p.OrderId, p.Amount, p.DatePaid, o.DateInvoice, o.TotalIncVat).join(schema.orders)
    totals = {}
    for order_id, amount, paid_on, invoiced_on, total in rows(demo, statement):
        assert invoiced_on <= paid_on <= MIDNIGHT_TODAY and amount > 0
        paid[order_id] += amount
        totals[order_id] = total
    assert all(paid[order_id] <= totals[order_id] for order_id in paid)
    assert any(paid[order_id] == totals[order_id] for order_id in paid)
    assert any(paid[order_id] < totals[order_id] for order_id in paid), "some invoices are part-paid"


# -- goods receipts, stock, prices ---------------------------------------------------------


def test_receipts_sum_to_the_delivered_quantity_of_purchase_order_lines(demo: sa.Engine) -> None:
    types = order_statuses(demo)
    t, i, o = schema.inv_transactions.c, schema.order_items.c, schema.orders.c
    received: dict[int, Decimal] = defaultdict(Decimal)
    for item_id, qty in rows(demo, sa.select(t.OrderItemId, t.Qty)):
        received[item_id] += qty
    statement = sa.select(i.Id, i.QtyDelivered, o.OrderStatusId).join(schema.orders)
    for item_id, delivered, status_id in rows(demo, statement):
        expected = delivered if types[status_id] == "PURCHASEORDER" else Decimal(0)
        assert received.get(item_id, Decimal(0)) == expected, item_id
    booked = {is_booked for (is_booked,) in rows(demo, sa.select(t.IsBooked))}
    assert booked == {True, False}


def test_receipts_are_priced_in_sek_from_the_line_price(demo: sa.Engine) -> None:
    t, i, o, c = schema.inv_transactions.c, schema.order_items.c, schema.orders.c, schema.currencies.c
    statement = (
        sa.select(t.UnitPriceSek, i.Price, c.RateToSek)
        .join(schema.order_items, i.Id == t.OrderItemId)
        .join(schema.orders, o.Id == i.OrderId)
        .join(schema.currencies, c.Id == o.CurrencyId)
    )
    for unit_price_sek, price, rate in rows(demo, statement):
        assert unit_price_sek == (price * rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def test_stock_rows_belong_to_their_locations_warehouse(demo: sa.Engine) -> None:
    s, loc = schema.product_stock.c, schema.warehouse_locations.c
    statement = sa.select(s.WarehouseId, loc.WarehouseId).join(schema.warehouse_locations)
    assert all(
        stock_warehouse == location_warehouse for stock_warehouse, location_warehouse in rows(demo, statement)
    )


def test_products_have_several_vendors_with_several_prices(demo: sa.Engine) -> None:
    sp = schema.supplier_prices.c
    vendors: dict[int, set[int]] = defaultdict(set)
    currencies: set[int] = set()
    for product_id, vendor_id, currency_id in rows(
        demo, sa.select(sp.ProductId, sp.SupplierId, sp.CurrencyId)
    ):
        vendors[product_id].add(vendor_id)
        currencies.add(currency_id)
    product_count = len(rows(demo, sa.select(schema.products.c.Id)))
    assert len(vendors) == product_count
    assert max(len(ids) for ids in vendors.values()) > 1 and len(currencies) > 1


# -- names and tenants -------------------------------------------------------------------


def test_company_names_include_swedish_unicode_and_literal_wildcards(demo: sa.Engine) -> None:
    names = {name for (name,) in rows(demo, sa.select(schema.companies.c.Name))}
    assert {"Åkerlunds Bygg AB", "Örebro Ställningar", "Café Élan", "Müller GmbH"} <= names
    assert any("%" in name for name in names) and any("_" in name for name in names)
    assert any("\\" in name for name in names)
    assert all(any(letter in "".join(names) for letter in letters) for letters in ("å", "ä", "ö", "é", "ü"))


def test_two_tenants_with_offsets_share_no_ids(demo: sa.Engine, demo_b: sa.Engine) -> None:
    for table in (
        schema.companies,
        schema.orders,
        schema.order_items,
        schema.products,
        schema.inv_transactions,
    ):
        ids_a = {row_id for (row_id,) in rows(demo, sa.select(table.c.Id))}
        ids_b = {row_id for (row_id,) in rows(demo_b, sa.select(table.c.Id))}
        assert ids_a and ids_b and not ids_a & ids_b, table.name
        assert min(ids_b) > B_OFFSET


def test_reference_rows_keep_their_fixed_ids_in_every_tenant(demo: sa.Engine, demo_b: sa.Engine) -> None:
    for table in (schema.currencies, schema.order_statuses, schema.price_lists):
        assert rows(demo, sa.select(table).order_by(table.c.Id)) == rows(
            demo_b, sa.select(table).order_by(table.c.Id)
        )


def test_most_documents_are_in_the_tenants_currency(demo_b: sa.Engine) -> None:
    eur = rows(demo_b, sa.select(schema.currencies.c.Id).where(schema.currencies.c.IsoCode == "EUR"))[0][0]
    currencies = [currency_id for (currency_id,) in rows(demo_b, sa.select(schema.orders.c.CurrencyId))]
    assert currencies.count(eur) > len(currencies) * 0.7 and len(set(currencies)) > 2


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {PG_URL}: {error}")
        pytest.skip(f"!!! PostgreSQL unreachable at {PG_URL}: generator parity with SQLite NOT tested !!!")
    name = f"asstio_gen_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_holds_exactly_the_rows_sqlite_holds(tmp_path: Path, fresh_postgres_url: str) -> None:
    postgres = sa.create_engine(fresh_postgres_url)
    try:
        generate(postgres, seed=SEED, orders=2000, today=TODAY, default_currency="SEK", id_offset=B_OFFSET)
        sqlite = generated(tmp_path / "parity.db", orders=2000, offset=B_OFFSET)
        assert digest(postgres) == digest(sqlite)
    finally:
        postgres.dispose()
