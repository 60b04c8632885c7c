"""Statements built once per filter shape, and rows taken as the database typed them: the same
answers as before, with less work per call (what a user notices is only the speed; these
tests pin that the answers stay the same and that the work is really skipped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_HIT

from mcp_server.params import parse_params
from mcp_server.rendering import json_value, wire_value
from tests.support import TODAY
from tools.db import TenantDatabases
from tools.prebuilt import STATEMENTS
from tools.view import ViewContext, registered_views
from tools.views.purchase_orders import PurchaseOrderDto
from tools.views.sales_invoices import SalesInvoiceDto
from tools.views.sales_orders import SalesOrderDto
from tools.wire import TrustedRows, trusted_row


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest) -> TenantDatabases:
    return TenantDatabases(request.getfixturevalue(f"{request.param}_tenants"))


def executed(databases: TenantDatabases, tool: str, calls: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """(statement object, compiled-cache outcome) of every statement each call executed."""
    view = next(v for v in registered_views() if v.tool == tool)
    engine = databases.engine("demo")
    statements: list[Any] = []
    hits: list[Any] = []

    def before(_conn: Any, clause: Any, *_: Any) -> None:
        statements.append(clause)

    def after(*args: Any) -> None:
        hits.append(args[4].cache_hit)

    event.listen(engine, "before_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        for arguments in calls:
            ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
            with databases.reading("demo") as conn:
                view.query(conn, ctx, parse_params(view.params, arguments))
    finally:
        event.remove(engine, "before_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return list(zip(statements, hits, strict=True))


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_sales_orders", {"pageSize": 5}),
        ("list_sales_orders", {"statusKind": "any", "orderDateFrom": "2026-01-01", "customerId": 1}),
        ("list_sales_invoices", {"pageSize": 5, "isLate": True}),
        ("list_purchase_orders", {"pageSize": 5}),
    ],
)
def test_a_first_page_runs_the_statement_built_by_the_first_call_and_hits_the_compiled_cache(
    databases: TenantDatabases, tool: str, arguments: dict[str, Any]
) -> None:
    (first, _), (second, hit) = executed(databases, tool, [arguments, arguments])
    assert second is first
    assert hit is CACHE_HIT


def test_one_customer_is_one_statement_for_every_customer_with_the_id_bound(
    databases: TenantDatabases,
) -> None:
    with databases.reading("demo") as conn:
        ids = conn.scalars(
            sa.text('SELECT "Id" FROM "Company" WHERE "IsCustomer" ORDER BY "Id" LIMIT 2')
        ).all()
    builds = STATEMENTS.builds
    runs = executed(databases, "get_customer", [{"customerId": ids[0]}, {"customerId": ids[1]}])
    assert runs[1][0] is runs[0][0]
    assert runs[1][1] is CACHE_HIT
    assert STATEMENTS.builds - builds <= 1  # built at most once here (or by an earlier test)


def test_a_name_or_free_text_filter_is_built_per_call_because_its_matches_are_read_first(
    databases: TenantDatabases,
) -> None:
    runs = executed(databases, "list_sales_orders", [{"customerName": "AB"}, {"customerName": "AB"}])
    pages = [statement for statement, _ in runs if isinstance(statement, sa.Select)]
    assert pages[-1] is not pages[len(pages) // 2 - 1]


@pytest.mark.parametrize(
    ("tool", "other"),
    [
        ("list_sales_orders", {"orderDateFrom": "2001-02-03"}),
        ("list_sales_invoices", {"invoiceDateFrom": "2001-02-04"}),
        ("list_purchase_orders", {"orderDateFrom": "2001-02-05"}),
    ],
)
def test_a_free_text_page_adds_its_matches_to_the_statement_built_once_for_its_other_filters(
    databases: TenantDatabases, tool: str, other: dict[str, Any]
) -> None:
    """Three searches with the same other filters (a date no other test uses): their statement
    is built once, and each call adds only what its search found."""
    view = next(v for v in registered_views() if v.tool == tool)

    def call(q: str) -> None:
        with databases.reading("demo") as conn:
            ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
            view.query(conn, ctx, parse_params(view.params, {"q": q, "pageSize": 7, **other}))

    builds = STATEMENTS.builds
    for q in ("projekt", "webshop", "ab 2"):
        call(q)
    assert STATEMENTS.builds - builds == 1


def test_the_same_answers_as_a_call_that_builds_everything_anew(databases: TenantDatabases) -> None:
    """A prebuilt statement with other bound values answers as a freshly built one does:
    the second customer's row and a later page are those of a cleared cache."""
    view = {v.tool: v for v in registered_views()}

    def answer(tool: str, arguments: dict[str, Any]) -> Any:
        ctx = ViewContext(tenant="demo", sub="t", today=TODAY)
        with databases.reading("demo") as conn:
            return wire_value(view[tool].query(conn, ctx, parse_params(view[tool].params, arguments)))

    first = answer("list_sales_orders", {"pageSize": 3})
    calls = [
        ("get_customer", {"customerId": first["items"][0]["customerId"]}),
        ("get_customer", {"customerId": first["items"][1]["customerId"]}),
        ("list_sales_orders", {"pageSize": 3, "cursor": first["nextCursor"]}),
        ("list_sales_invoices", {"pageSize": 4, "isFullyPaid": False}),
    ]
    warm = [answer(tool, arguments) for tool, arguments in calls]
    with STATEMENTS._lock:
        STATEMENTS._built.clear()
    cold = [answer(tool, arguments) for tool, arguments in reversed(calls)]
    assert warm == list(reversed(cold))


# -- rows taken as the database typed them ------------------------------------------------

ROW = {
    "id": 7,
    "name": "Order 7",
    "customer_id": 3,
    "customer_name": "Åke AB",
    "customer_orgno": None,
    "status_id": 2,
    "status_name": "Open",
    "date_order": datetime(2026, 5, 20, 8, 30, 15, 999),
    "date_delivery": datetime(2026, 5, 21),
    "date_invoice": None,
    "date_due": datetime(2026, 6, 20, 1, 0, tzinfo=timezone(timedelta(hours=2))),
    "total_ex_vat": Decimal("100.005"),
    "total_vat": Decimal("-0.001"),
    "total_inc_vat": Decimal("125.00"),
    "open_amount": Decimal("-0.00"),
    "is_late": False,
    "is_fully_paid": True,
    "has_shipment_discrepancy": False,
    "currency_iso_code": "SEK",
}

VARIANTS = [
    {},
    {"total_ex_vat": 100, "is_late": 0},  # an int for money, an int for a flag: validated
    {"total_vat": 2.5},
    {"date_delivery": "2026-05-21T00:00:00"},  # text for a datetime: validated
    {"status_id": True},
    {"name": None, "customer_orgno": "556677-8899", "date_invoice": datetime(2026, 5, 22, tzinfo=UTC)},
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_trusted_row_renders_exactly_as_a_validated_one(variant: dict[str, Any]) -> None:
    values = ROW | variant
    trusted, validated = trusted_row(SalesOrderDto, values), SalesOrderDto.model_validate(values)
    assert wire_value(trusted) == wire_value(validated)
    assert json_value(trusted) == json_value(validated)
    assert repr(wire_value(trusted)) == repr(wire_value(validated))  # Decimal places and types too


def test_a_row_missing_a_required_field_fails_as_validation_does() -> None:
    values = {name: value for name, value in ROW.items() if name != "customer_name"}
    with pytest.raises(ValueError, match="customerName"):
        trusted_row(SalesOrderDto, values)


def test_the_document_rows_are_all_taken_without_validation() -> None:
    for dto in (SalesOrderDto, SalesInvoiceDto, PurchaseOrderDto):
        assert TrustedRows(dto).slots is not None, dto.__name__
