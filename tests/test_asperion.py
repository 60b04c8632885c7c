"""Asperion-backed tenants: two administrations of one Asperion user, each synced into its own
tenant with nothing crossing; receivables and payables checked against Asperion's own
outstanding amounts and days overdue; the refresh token rotated and stored encrypted."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from connectors.core import SourceRejected, SourceSettings, lists
from connectors.core.credentials import CredentialStore
from tests.asperion_double import AsperionDouble, make_administration, serve
from tests.questions.run import ask_all, explain, report
from tests.source_support import (
    assert_not_in_source,
    crash_then_resume,
    query,
    serve_tenants,
    sync_once,
    tenant_database,
    tenant_secrets,
)
from tests.support import TODAY, LiveServer, cents, mcp_session, rest_client, walk
from tools.db import create_tenant_engine
from tools.source_schema import source_credentials

ADMINISTRATIONS = {"demo": "1001", "demo-b": "1002"}  # tenant -> Asperion administration


@dataclass
class Synced:
    double: AsperionDouble
    server: LiveServer
    databases: dict[str, str]
    keys: dict[str, str]
    first_tokens: dict[str, str]


def settings_for(url: str, administration: str) -> SourceSettings:
    return SourceSettings(
        kind="asperion",
        base_url=url,
        token_url=url + "/connect/token",
        client_id="asstio-test",
        administration=administration,
        rate_limit="100000/second",
    )


def two_administrations() -> AsperionDouble:
    """The bakery sells on sales orders; the printer's administration lacks the sales-order module."""
    bakery = make_administration(
        "1001", "Bakkerij De Korenschoof", 11, TODAY, sales=300, purchases=40, orders=30
    )
    printer = make_administration("1002", "Drukkerij Het Anker", 12, TODAY, sales=300, purchases=25, orders=5)
    printer.has_sales_orders = False
    return AsperionDouble([bakery, printer], TODAY)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with ExitStack() as stack:
        databases = {
            t: tenant_database(request.param, stack, tmp_path_factory, f"asperion-{t}")
            for t in ADMINISTRATIONS
        }
        double = two_administrations()
        url = stack.enter_context(serve(double))
        keys, first = {}, {}
        for tenant, administration in ADMINISTRATIONS.items():
            keys[tenant], first[tenant] = Fernet.generate_key().decode(), double.grant(tenant)
            secrets = tenant_secrets(tenant, {"refresh_token": first[tenant], "encryption_key": keys[tenant]})
            sync_once(databases[tenant], tenant, settings_for(url, administration), secrets)
        sources = {t: settings_for(url, a) for t, a in ADMINISTRATIONS.items()}
        server = serve_tenants(stack, tmp_path_factory, databases, sources, "EUR")
        yield Synced(double, server, databases, keys, first)


async def test_each_administration_lands_in_its_own_tenant_and_nothing_crosses(synced: Synced) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        async with rest_client(synced.server, tenant) as rest:
            customers = await walk(rest, "/customers", inactive="true", pageSize=100)
            invoices = await walk(rest, "/sales-invoices", pageSize=100)
        assert sorted(c["name"] for c in customers) == sorted(d["name"] for d in adm.debtors)
        assert sorted(i["invoiceNumber"] for i in invoices) == sorted(
            int(i["invoiceNumber"]) for i in adm.sales_invoices
        )
    assert set(synced.double.tenant_headers) == set(ADMINISTRATIONS.values())


async def test_receivables_are_asperions_outstanding_sales_invoices_per_debtor(synced: Synced) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        rows = synced.double.outstanding(adm.sales_invoices, adm.outstanding_sales, adm.debtors, "debtor")
        owed: dict[str, Decimal] = defaultdict(Decimal)
        overdue: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            owed[row["debtorName"]] += cents(row["outstandingAmount"])
            if row["daysOverdue"] > 0:
                overdue[row["debtorName"]] += cents(row["outstandingAmount"])
        async with rest_client(synced.server, tenant) as rest:
            body = (await rest.get("/receivables", params={"limit": 100})).json()
        got = {r["customerName"]: (cents(r["open"]), cents(r["overdue"])) for r in body["customers"]}
        assert got == {name: (amount, overdue[name]) for name, amount in owed.items()}


async def test_payables_match_asperions_outstanding_purchase_invoices_amounts_and_days_overdue(
    synced: Synced,
) -> None:
    for tenant, administration in ADMINISTRATIONS.items():
        adm = synced.double.administrations[administration]
        rows = synced.double.outstanding(
            adm.purchase_invoices, adm.outstanding_purchases, adm.creditors, "creditor"
        )
        expected = {
            r["invoiceNumber"]: (cents(r["outstandingAmount"]), max(0, r["daysOverdue"])) for r in rows
        }
        async with rest_client(synced.server, tenant) as rest:
            open_rows = await walk(rest, "/payables", pageSize=100)
            aging = (await rest.get("/payables/aging", params={"limit": 100})).json()
        got = {r["invoiceNumber"]: (cents(r["openAmount"]), r["daysOverdue"]) for r in open_rows}
        assert got == expected
        assert cents(aging["totals"]["open"]) == sum(amount for amount, _ in expected.values())
        over90 = sum(cents(r["outstandingAmount"]) for r in rows if r["daysOverdue"] > 90)
        assert cents(aging["totals"]["overdueOver90"]) == over90


async def test_asperion_keeps_no_stock_and_says_so_on_both_doors(synced: Synced) -> None:
    for tenant in ADMINISTRATIONS:
        await assert_not_in_source(
            synced.server, tenant, "/warehouse-stock", "list_warehouse_stock", "Asperion"
        )


def test_the_refresh_token_is_rotated_and_stored_encrypted(synced: Synced) -> None:
    live = {chain: token for token, chain in synced.double.refresh_tokens.items()}
    for tenant in ADMINISTRATIONS:
        engine = create_tenant_engine(synced.databases[tenant])
        stored = CredentialStore(engine, "asperion", synced.keys[tenant]).read("refresh_token")
        with engine.connect() as conn:
            ciphertext = conn.execute(sa.select(source_credentials.c.Ciphertext)).scalar_one()
        engine.dispose()
        assert stored == live[tenant] != synced.first_tokens[tenant]  # the first one was used up
        assert live[tenant] not in ciphertext and json.dumps(live[tenant]) not in ciphertext


def test_a_sync_that_dies_mid_list_resumes_at_the_lost_page_and_doubles_nothing(tmp_path: Path) -> None:
    adm = make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=130, purchases=5)
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{tmp_path / 'crash.db'}"
    values = {"refresh_token": double.grant("demo"), "encryption_key": Fernet.generate_key().decode()}
    lost = "/v1/salesinvoiceswithlines?page=2&pageSize=100"
    with serve(double) as url:
        settings = settings_for(url, "1001")
        second = crash_then_resume(
            lambda: sync_once(database, "demo", settings, tenant_secrets("demo", values)),
            double,
            lost,
            double.listed,
        )
    assert [p for p in second if p.startswith("/v1/salesinvoiceswithlines")] == [lost]
    numbers = [r[0] for r in query(database, 'SELECT "InvoiceNumber" FROM "Orders"')]
    [(open_total,)] = query(
        database, 'SELECT SUM(o."TotalIncVat") - (SELECT SUM("Amount") FROM "Payment") FROM "Orders" o'
    )
    assert sorted(numbers) == sorted(int(i["invoiceNumber"]) for i in adm.sales_invoices)
    assert cents(open_total) == sum(adm.outstanding_sales.values())


def order_names(adm_orders: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {o["description"]: cents(o["totalInclVat"]) for o in adm_orders}


async def test_sales_orders_are_asperions_with_their_totals_on_both_doors(synced: Synced) -> None:
    bakery = synced.double.administrations["1001"]
    async with rest_client(synced.server, "demo") as rest:
        book = await walk(rest, "/sales-orders", pageSize=100)
        first = (await rest.get("/sales-orders", params={"pageSize": 5})).json()
    orders = [r for r in book if r["dateInvoice"] is None]
    assert {r["name"]: cents(r["totalIncVat"]) for r in orders} == order_names(bakery.sales_orders)
    assert len(book) == len(bakery.sales_orders) + len(bakery.sales_invoices)  # the order book
    delivery = {o["description"]: o["deliveryDate"] for o in bakery.sales_orders}
    assert all(r["dateDelivery"][:10] == delivery[r["name"]] and not r["isLate"] for r in orders)
    async with mcp_session(synced.server, "demo") as session:
        result = await session.call_tool("list_sales_orders", {"pageSize": 5})
    assert json.loads(result.content[0].text) == first  # type: ignore[union-attr]
    async with rest_client(synced.server, "demo-b") as rest:  # no sales-order module: no orders
        printer = await walk(rest, "/sales-orders", statusKind="any", pageSize=100)
    assert all(r["dateInvoice"] is not None for r in printer)


def test_sales_order_lines_are_the_article_lines_of_asperions_orders(synced: Synced) -> None:
    bakery = synced.double.administrations["1001"]
    expected = sorted(
        (o["description"], line["articleSku"], Decimal(str(line["quantity"])), cents(line["totalExclVat"]))
        for o in bakery.sales_orders
        for line in o["lines"]
        if line["bookingType"] == "A"
    )
    engine = create_tenant_engine(synced.databases["demo"])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            'SELECT o."Name", p."ProductNumber", i."QtyOrdered", i."SumExVat" FROM "OrderItem" i '
            'JOIN "Orders" o ON o."Id" = i."OrderId" JOIN "Product" p ON p."Id" = i."ProductId" '
            'WHERE o."InvoiceNumber" IS NULL'
        ).all()
    engine.dispose()
    assert sorted((n, sku, Decimal(str(q)), cents(s)) for n, sku, q, s in rows) == expected


async def test_open_order_lines_and_order_intake_say_what_asperion_does_not_record(synced: Synced) -> None:
    server = synced.server
    await assert_not_in_source(server, "demo", "/open-order-lines", "list_open_order_lines", "Asperion")
    await assert_not_in_source(server, "demo", "/summary", "summarize", "Asperion", measure="orderIntake")
    async with rest_client(server, "demo") as rest:
        profile = (await rest.get("/company-profile")).json()
    views = {v["view"]: v for v in profile["views"]}
    assert views["sales-orders"]["filled"] is True
    assert "measure=orderIntake" in views["summary"]["missing"]
    assert (
        views["open-order-lines"]["filled"] is False and "delivered" in views["open-order-lines"]["missing"]
    )


def test_edits_and_deletions_at_asperion_show_after_the_next_sync(tmp_path: Path) -> None:
    adm = make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=30, purchases=8, orders=6)
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{tmp_path / 'edits.db'}"
    secrets = tenant_secrets(
        "demo", {"refresh_token": double.grant("demo"), "encryption_key": Fernet.generate_key().decode()}
    )
    with serve(double) as url:
        settings = settings_for(url, "1001")
        sync_once(database, "demo", settings, secrets)
        paid_gone = next(
            i for i in adm.sales_invoices if adm.outstanding_sales.get(i["id"]) != cents(i["totalInclVat"])
        )
        edited = next(i for i in adm.sales_invoices if i is not paid_gone)
        edited["totalInclVat"] = float(cents(edited["totalInclVat"]) + 10)
        adm.sales_invoices.remove(paid_gone)
        adm.outstanding_sales.pop(paid_gone["id"], None)
        del adm.sales_orders[0]
        adm.sales_orders[0]["lines"][0]["quantity"] += 5  # an order line edited
        purchase_gone, debtor_gone = (
            adm.purchase_invoices.pop(0),
            adm.debtors.pop(),
        )
        adm.outstanding_purchases.pop(purchase_gone["id"], None)
        slid = adm.sales_invoices[-1]
        double.unlisted = {slid["id"]}  # still there, but missed by this run's pages
        double.fail_once = f"/v1/salesinvoiceswithlines/{paid_gone['id']}"  # dies confirming a deletion
        double.fail_status = 400
        with pytest.raises(SourceRejected):
            sync_once(database, "demo", settings, secrets)
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            assert conn.execute(
                'SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" = ?', (int(paid_gone["invoiceNumber"]),)
            ).fetchone() == (1,)
        double.listed.clear()
        sync_once(database, "demo", settings, secrets)
        resumed = list(double.listed)
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            gone = {r[0] for r in conn.execute('SELECT "Name" FROM "Company" WHERE "Inactive"')}
        assert gone == {debtor_gone["name"]}
        adm.debtors.append(debtor_gone)  # back at Asperion: active again after the next run
        sync_once(database, "demo", settings, secrets)
    assert not [p for p in resumed if p.startswith("/v1/salesinvoiceswithlines?page=1&")]
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        invoices = dict(
            conn.execute(
                'SELECT "InvoiceNumber", "TotalIncVat" FROM "Orders" WHERE "InvoiceNumber" IS NOT NULL'
            ).fetchall()
        )
        orders = {r[0] for r in conn.execute('SELECT "Name" FROM "Orders" WHERE "InvoiceNumber" IS NULL')}
        order_lines = conn.execute(
            'SELECT o."Name", i."QtyOrdered" FROM "OrderItem" i JOIN "Orders" o ON o."Id" = i."OrderId" '
            'WHERE o."InvoiceNumber" IS NULL'
        ).fetchall()
        purchases = {r[0] for r in conn.execute('SELECT "InvoiceNumber" FROM "SupplierInvoice"')}
        inactive = {r[0] for r in conn.execute('SELECT "Name" FROM "Company" WHERE "Inactive"')}
        open_total = conn.execute(
            'SELECT SUM(o."TotalIncVat") - (SELECT SUM("Amount") FROM "Payment") FROM "Orders" o '
            'WHERE "InvoiceNumber" IS NOT NULL'
        ).fetchone()[0]
    assert sorted(invoices) == sorted(
        int(i["invoiceNumber"]) for i in adm.sales_invoices
    )  # the slid one kept
    assert cents(invoices[int(edited["invoiceNumber"])]) == cents(edited["totalInclVat"])
    assert orders == {o["description"] for o in adm.sales_orders}
    assert sorted((n, Decimal(str(q))) for n, q in order_lines) == sorted(
        (o["description"], Decimal(str(line["quantity"])))
        for o in adm.sales_orders
        for line in o["lines"]
        if line["bookingType"] == "A"
    )
    assert purchases == {i["invoiceNumber"] for i in adm.purchase_invoices}
    assert inactive == set()
    assert cents(open_total) == sum(adm.outstanding_sales.values())


def test_a_release_with_other_mapping_code_rewrites_what_asperion_did_not_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged objects are skipped by their fingerprint, but only under the mapping code that
    wrote them: after an upgrade that maps differently, rows written the old way are rewritten."""
    adm = make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=6, purchases=2)
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{tmp_path / 'release.db'}"
    values = {"refresh_token": double.grant("demo"), "encryption_key": Fernet.generate_key().decode()}
    invoice = adm.sales_invoices[0]
    number = int(invoice["invoiceNumber"])
    stale = 'UPDATE "Orders" SET "TotalIncVat" = 1 WHERE "InvoiceNumber" = ?'  # "the old mapping"
    total = 'SELECT "TotalIncVat" FROM "Orders" WHERE "InvoiceNumber" = ?'
    with serve(double) as url:
        settings = settings_for(url, "1001")
        sync_once(database, "demo", settings, tenant_secrets("demo", values))
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            conn.execute(stale, (number,))
        sync_once(database, "demo", settings, tenant_secrets("demo", values))
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            assert conn.execute(total, (number,)).fetchone() == (1,)  # same code, same object: skipped
        monkeypatch.setattr(lists, "MAPPING_CODE", b"the next release's mapping")
        sync_once(database, "demo", settings, tenant_secrets("demo", values))
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        assert cents(conn.execute(total, (number,)).fetchone()[0]) == cents(invoice["totalInclVat"])


def test_orders_go_when_the_administration_loses_its_sales_order_module(tmp_path: Path) -> None:
    adm = make_administration("1001", "Bakkerij De Korenschoof", 11, TODAY, sales=5, purchases=2, orders=4)
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{tmp_path / 'module.db'}"
    values = {"refresh_token": double.grant("demo"), "encryption_key": Fernet.generate_key().decode()}
    with serve(double) as url:
        sync_once(database, "demo", settings_for(url, "1001"), tenant_secrets("demo", values))
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            before = conn.execute('SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" IS NULL').fetchone()[0]
        adm.has_sales_orders = False  # every sales-order request is now refused with 403
        sync_once(database, "demo", settings_for(url, "1001"), tenant_secrets("demo", values))
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        after = conn.execute('SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" IS NULL').fetchone()[0]
        invoices = conn.execute('SELECT COUNT(*) FROM "Orders" WHERE "InvoiceNumber" IS NOT NULL').fetchone()[
            0
        ]
    assert (before, after, invoices) == (len(adm.sales_orders), 0, len(adm.sales_invoices))


async def test_the_question_suite_is_answered_on_asperion_tenants_and_what_asperion_lacks_is_refused(
    synced: Synced,
) -> None:
    """Every question of the suite, asked through the MCP client of each administration's
    tenant, agrees exactly with the suite's own SQL; a question needing what Asperion does not
    have (purchase orders, supplier prices, warehouses and stock, delivered quantities, order
    intake) is answered with the refusal naming Asperion: the tool's not_in_source, or for the
    warehouses the company profile's word that Asperion does not fill them, never "none"."""
    backend = "sqlite" if synced.databases["demo"].startswith("sqlite") else "postgres"
    for tenant, database in synced.databases.items():
        outcomes = await ask_all(synced.server, backend, tenant, database, home="EUR", source="asperion")
        print(report(outcomes))
        failed = [explain(o) for o in outcomes if not o.answered]
        assert not failed, report(outcomes) + "\n" + "\n".join(failed)
        assert {o.question.name for o in outcomes if o.refused} == {
            "received-not-invoiced",  # purchase orders
            "top-vendors",  # summary of purchases
            "purchases-per-month",
            "intake-per-week",  # order intake
            "intake-ytd-vs-last-year",
            "stock-per-warehouse",  # warehouse stock
            "warehouses",  # no warehouses: the profile says the source does not fill them
            "customer-late-lines",  # open order lines: no delivered quantities
            "product-late-lines",
            "cheapest-valid-price",  # vendor prices
            "valid-prices-ranked",
        }
        assert all("Asperion" in o.answer.message for o in outcomes if o.refused)
        # what the books cannot name is said: no credit limits, no currency but the euro, no
        # hearing protection (and, for questions Asperion refuses anyway, no stock, supplier
        # prices or late order lines)
        noted = {o.question.name for o in outcomes if o.note}
        assert noted - {o.question.name for o in outcomes if o.refused} == {
            "customer-open-and-headroom",
            "foreign-rate",
            "search-without-diacritics",
        }
        # no e-invoice was received (the inbox is not the ERP): the drafts questions answer "none",
        # the only answers that say nothing
        assert {o.question.name for o in outcomes if o.trivial} == {
            "drafts-ready-to-match",
            "drafts-auto-eligible-lines",
        }
