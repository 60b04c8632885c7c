"""A SQLite datetime stored as text with an offset (``2026-11-20 01:00:00+02:00``) is a moment in
UTC everywhere a view compares it with today, as the wire already writes it: no 500 for comparing
an aware value with a naive one, and ``isLate`` says what the moment in UTC says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo.tenants import seed_database
from tests.support import TODAY, LiveServer, mcp_session, rest_client, start_server, walk
from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments

LATE_IN_UTC = "2026-11-20 01:00:00+02:00"  # 2026-11-19 23:00 UTC: before today began in UTC
ON_TIME_IN_UTC = "2026-11-19 23:30:00-05:00"  # 2026-11-20 04:30 UTC: after it


@dataclass
class Offsets:
    server: LiveServer
    late_invoice: int
    on_time_invoice: int
    late_order: int
    on_time_order: int
    late_payable: int


def sales_invoices(conn: sa.Connection) -> list[int]:
    o, st, t = s.orders, s.order_statuses, s.order_status_types
    stmt = (
        sa.select(o.c.Id)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(t, t.c.Id == st.c.OrderStatusTypeId)
        .where(t.c.SystemName == "SALESINVOICE", st.c.IsSales, o.c.TotalIncVat > 0)
        .order_by(o.c.Id)
    )
    return list(conn.scalars(stmt))


def order_book_orders_left_to_deliver(conn: sa.Connection) -> list[int]:
    o, st, t, i = s.orders, s.order_statuses, s.order_status_types, s.order_items
    stmt = (
        sa.select(o.c.Id)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(t, t.c.Id == st.c.OrderStatusTypeId)
        .where(t.c.SystemName == "SALESORDER", st.c.IsOrderIntake)
        .where(sa.exists().where(i.c.OrderId == o.c.Id, i.c.QtyDelivered < i.c.QtyOrdered))
        .order_by(o.c.Id)
    )
    return list(conn.scalars(stmt))


@pytest.fixture(scope="module")
def offsets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offsets]:
    root: Path = tmp_path_factory.mktemp("offsets")
    url = f"sqlite:///{root / 'offsets.db'}"
    seed_database(url, seed=5, orders=80, today=TODAY, draft_lines=20)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        invoices, orders = sales_invoices(conn)[:2], order_book_orders_left_to_deliver(conn)[:2]
        conn.execute(sa.delete(s.payments).where(s.payments.c.OrderId.in_(invoices)))  # both open
        for order_id, due in zip(invoices, (LATE_IN_UTC, ON_TIME_IN_UTC), strict=True):
            conn.execute(sa.update(s.orders).where(s.orders.c.Id == order_id).values(DateDue=sa.literal(due)))
        for order_id, promised in zip(orders, (LATE_IN_UTC, ON_TIME_IN_UTC), strict=True):
            conn.execute(
                sa.update(s.orders).where(s.orders.c.Id == order_id).values(DateDelivery=sa.literal(promised))
            )
        payable: int = conn.scalar(sa.select(sa.func.min(supplier_invoices.c.Id)))
        conn.execute(sa.delete(supplier_payments).where(supplier_payments.c.SupplierInvoiceId == payable))
        conn.execute(
            sa.update(supplier_invoices)
            .where(supplier_invoices.c.Id == payable)
            .values(DateDue=sa.literal(LATE_IN_UTC))
        )
    engine.dispose()
    server = start_server(root / "server", {"demo": url})
    yield Offsets(server, invoices[0], invoices[1], orders[0], orders[1], payable)
    server.stop()


def lateness(items: list[dict[str, Any]], key: str, *ids: int) -> list[bool]:
    return [item["isLate"] for order_id in ids for item in items if item[key] == order_id]


async def test_an_invoice_due_at_a_moment_with_an_offset_is_late_by_its_moment_in_utc_through_both_doors(
    offsets: Offsets,
) -> None:
    ids = (offsets.late_invoice, offsets.on_time_invoice)
    async with rest_client(offsets.server) as rest:
        items = await walk(rest, "/sales-invoices")
    assert lateness(items, "id", *ids) == [True, False]
    assert {item["dateDue"] for item in items if item["id"] in ids} == {
        "2026-11-19T23:00:00Z",
        "2026-11-20T04:30:00Z",
    }
    async with mcp_session(offsets.server) as mcp:
        result = await mcp.call_tool("list_sales_invoices", {"pageSize": 100})
    assert not result.is_error
    assert result.structured_content is not None
    assert lateness(result.structured_content["items"], "id", *ids) == [True, False]


async def test_an_order_promised_at_a_moment_with_an_offset_is_late_by_its_moment_in_utc(
    offsets: Offsets,
) -> None:
    ids = (offsets.late_order, offsets.on_time_order)
    async with rest_client(offsets.server) as rest:
        orders = await walk(rest, "/sales-orders")
        lines = await walk(rest, "/open-order-lines")
    assert lateness(orders, "id", *ids) == [True, False]
    late_lines, on_time_lines = ([line["isLate"] for line in lines if line["orderId"] == i] for i in ids)
    assert late_lines and all(late_lines)
    assert on_time_lines and not any(on_time_lines)


async def test_a_payable_due_at_a_moment_with_an_offset_counts_its_days_overdue_from_its_utc_date(
    offsets: Offsets,
) -> None:
    async with rest_client(offsets.server) as rest:
        payables = await walk(rest, "/payables", state="any")
    payable = next(p for p in payables if p["supplierInvoiceId"] == offsets.late_payable)
    assert (payable["dateDue"], payable["openAmount"] > 0, payable["daysOverdue"]) == (
        "2026-11-19T23:00:00Z",
        True,
        1,
    )
