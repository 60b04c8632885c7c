"""Payables: booked supplier invoices and their aging, through both doors, on SQLite and
PostgreSQL and both demo tenants, checked against SQL written here over the raw rows."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from tests.support import TODAY, LiveServer, cents, mcp_session, rest_client, start_server, walk

TENANTS = ["demo", "demo-b"]
CENT = Decimal("0.01")
INVOICES = sa.text(
    """
    SELECT i."Id", i."SupplierId", i."DateDue", i."TotalIncVat", c."IsoCode",
           COALESCE((SELECT SUM(p."Amount") FROM "SupplierPayment" p
                     WHERE p."SupplierInvoiceId" = i."Id"), 0) AS paid
    FROM "SupplierInvoice" i JOIN "Currency" c ON c."Id" = i."CurrencyId"
    """
)


def invoices(server: LiveServer, tenant: str) -> list[dict[str, Any]]:
    """Each supplier invoice with its open amount (to the cent) and its due day."""
    with sa.create_engine(server.settings.tenants[tenant]).connect() as conn:
        rows = conn.execute(INVOICES).all()
    return [
        {
            "id": r.Id,
            "supplier": r.SupplierId,
            "due": _day(r.DateDue),
            "currency": r.IsoCode,
            "open": (Decimal(str(r.TotalIncVat)) - Decimal(str(r.paid))).quantize(CENT, ROUND_HALF_UP),
        }
        for r in rows
    ]


def _day(value: Any) -> date:
    return (value if isinstance(value, datetime) else datetime.fromisoformat(str(value))).date()


def bucket(due: date) -> str:
    late = (TODAY - due).days
    if late <= 0:
        return "notDue"
    return (
        "overdue1To30"
        if late <= 30
        else "overdue31To60"
        if late <= 60
        else ("overdue61To90" if late <= 90 else "overdueOver90")
    )


@pytest.mark.parametrize("tenant", TENANTS)
async def test_open_payables_are_the_invoices_with_something_left_to_pay_earliest_due_first(
    server: LiveServer, in_process: Starlette, tenant: str
) -> None:
    expected = sorted(
        (i for i in invoices(server, tenant) if i["open"] > 0), key=lambda i: (i["due"], i["id"])
    )
    async with rest_client(server, tenant, app=in_process) as rest:
        rows = await walk(rest, "/payables", pageSize=100)
    assert [r["supplierInvoiceId"] for r in rows] == [i["id"] for i in expected]
    assert [cents(r["openAmount"]) for r in rows] == [i["open"] for i in expected]
    assert [r["agingBucket"] for r in rows] == [bucket(i["due"]) for i in expected]
    assert len(rows) > 10


@pytest.mark.parametrize("tenant", TENANTS)
async def test_most_supplier_invoices_are_paid_and_a_paid_one_shows_its_payments(
    server: LiveServer, in_process: Starlette, tenant: str
) -> None:
    every = invoices(server, tenant)
    paid = [i for i in every if i["open"] <= 0]
    assert len(paid) > len(every) / 2  # most are paid within terms
    async with rest_client(server, tenant, app=in_process) as rest:
        rows = await walk(rest, "/payables", state="paid", pageSize=200)
    assert sorted(r["supplierInvoiceId"] for r in rows) == sorted(i["id"] for i in paid)
    for row in rows[:20]:
        assert sum(cents(p["amount"]) for p in row["payments"]) == cents(row["totalIncVat"])
        assert row["agingBucket"] is None and row["daysOverdue"] == 0


async def test_overdue_and_due_date_filters_narrow_to_what_the_raw_rows_give(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    every = invoices(server, "demo")
    overdue = [i["id"] for i in every if i["open"] > 0 and i["due"] < TODAY]
    rows = await walk(rest, "/payables", state="overdue")
    assert sorted(r["supplierInvoiceId"] for r in rows) == sorted(overdue)
    assert all(r["daysOverdue"] == (TODAY - _day(r["dateDue"][:10])).days > 0 for r in rows)
    week = [i["id"] for i in every if i["open"] > 0 and TODAY <= i["due"] <= date(2026, 11, 27)]
    rows = await walk(rest, "/payables", dueDateFrom="2026-11-20", dueDateTo="2026-11-27T23:59:59Z")
    assert sorted(r["supplierInvoiceId"] for r in rows) == sorted(week)


@pytest.mark.parametrize("tenant", TENANTS)
async def test_payables_aging_adds_up_each_suppliers_open_invoices_in_the_receivables_buckets(
    server: LiveServer, in_process: Starlette, tenant: str
) -> None:
    sums: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for i in invoices(server, tenant):
        if i["open"] > 0:
            sums[i["supplier"], i["currency"]][bucket(i["due"])] += i["open"]
    async with rest_client(server, tenant, app=in_process) as rest:
        rates = {
            c["currencyIsoCode"]: Decimal(str(c["rateToHome"]))
            for c in (await rest.get("/company-profile")).json()["currencies"]
        }
        body = (await rest.get("/payables/aging", params={"limit": 100})).raise_for_status().json()
    assert body["supplierCount"] == len({supplier for supplier, _ in sums})
    for row in body["suppliers"]:
        for currency in row["byCurrency"]:
            own = sums[row["supplierId"], currency["currencyIsoCode"]]
            assert cents(currency["openAmount"]) == sum(own.values())
            assert cents(currency["overdueAmount"]) == sum(v for k, v in own.items() if k != "notDue")
    names = ["notDue", "overdue1To30", "overdue31To60", "overdue61To90", "overdueOver90"]
    for name in names:
        home = sum(
            ((b[name] * rates[cur]).quantize(CENT, ROUND_HALF_UP) for (_, cur), b in sums.items()), Decimal(0)
        )
        assert cents(body["totals"][name]) == home, name
    assert cents(body["totals"]["open"]) == sum(cents(body["totals"][n]) for n in names)
    overdue = [cents(r["overdue"]) for r in body["suppliers"]]
    assert overdue == sorted(overdue, reverse=True)


async def test_both_doors_give_the_same_payables_aging(server: LiveServer, rest: httpx.AsyncClient) -> None:
    over_rest = (await rest.get("/payables/aging", params={"overdueMin": 1})).json()
    async with mcp_session(server) as session:
        result = await session.call_tool("get_payables_aging", {"overdueMin": 1})
    assert json.loads(result.content[0].text) == over_rest  # type: ignore[union-attr]
    assert all(cents(r["overdue"]) >= 1 for r in over_rest["suppliers"])


@pytest.mark.parametrize(
    ("params", "named"), [({"state": "late"}, "state"), ({"dueDateFrom": "soon"}, "dueDateFrom")]
)
async def test_payables_refuse_what_they_cannot_answer_naming_the_parameter(
    rest: httpx.AsyncClient, params: dict[str, str], named: str
) -> None:
    response = await rest.get("/payables", params=params)
    assert response.status_code == 400
    assert named in json.dumps(response.json())


async def test_a_database_without_supplier_invoice_tables_says_so_instead_of_failing(
    sqlite_tenants: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "older.db"
    shutil.copy(sqlite_tenants["demo"].removeprefix("sqlite:///"), copy)
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE "SupplierPayment"')
        conn.exec_driver_sql('DROP TABLE "SupplierInvoice"')
    engine.dispose()
    live = start_server(tmp_path / "server", {"demo": f"sqlite:///{copy}"})
    try:
        async with rest_client(live) as rest:
            responses = [await rest.get("/payables"), await rest.get("/payables/aging")]
    finally:
        live.stop()
    assert [r.status_code for r in responses] == [404, 404]
    assert all(r.json()["code"] == "not_in_source" for r in responses)
