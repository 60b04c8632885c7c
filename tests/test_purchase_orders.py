"""Purchase orders through both doors, against seeded SQLite and PostgreSQL: receipts and what of
them is invoiced, every filter checked against the raw-row oracle of ``tests.test_sales_orders``."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, mcp_session, walk
from tests.test_sales_orders import (
    CENT,
    Document,
    a_word_of,
    an_mcp_user,
    assert_bad_request,
    counts_as,
    documents,
    iso,
    money,
    newest_order_first,
    utc,
)

ANY = {"statusKind": "any"}


def in_purchase_view(d: Document, params: dict[str, Any]) -> bool:
    return counts_as(d, ("PURCHASEORDER",), params, {"purchase": d.is_purchase, "any": True})


def purchase_orders(server: LiveServer, **params: Any) -> list[Document]:
    return newest_order_first([d for d in documents(server) if in_purchase_view(d, params)])


def received_value(d: Document, *, booked_only: bool = False) -> Decimal:
    values = (r.qty * r.net_line_price for r in d.receipts if r.booked or not booked_only)
    return sum(values, Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def open_to_invoice(d: Document) -> Decimal:
    return received_value(d) - received_value(d, booked_only=True)


def received_qty_percent(d: Document) -> float | None:
    ordered = sum((line.qty_ordered for line in d.lines), Decimal(0))
    received = sum((r.qty for r in d.receipts), Decimal(0))
    if ordered == 0:
        return None
    return float((100 * received / ordered).quantize(Decimal("0.1"), ROUND_HALF_UP))


def expected_purchase_order(d: Document) -> dict[str, Any]:
    return {
        "id": d.id,
        "purchaseNumber": d.purchase_number,
        "vendorId": d.company_id,
        "vendorName": d.company_name,
        "vendorOrgno": d.company_orgno,
        "statusId": d.status_id,
        "statusName": d.status_name,
        "dateOrder": iso(d.date_order),
        "dateDelivery": iso(d.date_delivery),
        "dateInvoice": iso(d.date_invoice),
        "dateDue": iso(d.date_due),
        "orderTotalExVat": money(d.total_ex_vat),
        "orderTotalIncVat": money(d.total_inc_vat),
        "receivedQtyPercent": received_qty_percent(d),
        "receivedValueExVat": money(received_value(d)),
        "invoicedValueExVat": money(received_value(d, booked_only=True)),
        "openToInvoiceExVat": money(open_to_invoice(d)),
        "currencyIsoCode": d.currency,
    }


Case = tuple[dict[str, Any], Callable[[Document], bool]]


def _sample(server: LiveServer) -> Document:
    awaiting_invoice = [d for d in purchase_orders(server, **ANY) if open_to_invoice(d) > 0 and d.name]
    return awaiting_invoice[len(awaiting_invoice) // 2]


def _cases(server: LiveServer) -> dict[str, Case]:
    d = _sample(server)
    word, still_open = a_word_of(d.company_name), str(open_to_invoice(d))
    return {
        "vendorId": ({"vendorId": d.company_id}, lambda x: x.company_id == d.company_id),
        "vendorName": ({"vendorName": word.upper()}, lambda x: word.lower() in x.company_name.lower()),
        "currency": ({"currency": "sek"}, lambda x: x.currency == "SEK"),
        "orderDate": (
            {"orderDateFrom": "2026-01-01", "orderDateTo": "2026-03-31"},
            lambda x: utc("2026-01-01") <= x.date_order <= utc("2026-03-31"),
        ),
        "deliveryDate": (
            {"deliveryDateFrom": "2026-08-01", "deliveryDateTo": "2026-11-20"},
            lambda x: utc("2026-08-01") <= x.date_delivery <= utc("2026-11-20"),
        ),
        "totalExVat": (
            {"totalExVatMin": str(d.total_ex_vat / 2), "totalExVatMax": str(d.total_ex_vat)},
            lambda x: d.total_ex_vat / 2 <= x.total_ex_vat <= d.total_ex_vat,
        ),
        "awaitingInvoice": ({"openToInvoiceMin": "0.01"}, lambda x: open_to_invoice(x) >= CENT),
        "nothingToInvoice": ({"openToInvoiceMax": "0"}, lambda x: open_to_invoice(x) <= 0),
        "openToInvoiceExactly": (
            {"openToInvoiceMin": still_open, "openToInvoiceMax": still_open},
            lambda x: open_to_invoice(x) == open_to_invoice(d),
        ),
        "qId": ({"q": str(d.id)}, lambda x: x.matches_text(str(d.id), x.purchase_number)),
        "qPurchaseNumber": (
            {"q": str(d.purchase_number)},
            lambda x: x.matches_text(str(d.purchase_number), x.purchase_number),
        ),
        "qVendorName": ({"q": word}, lambda x: x.matches_text(word, x.purchase_number)),
        "qOrderName": ({"q": "PÅFYLLNING"}, lambda x: x.matches_text("påfyllning", x.purchase_number)),
    }


FILTERS = [
    "vendorId", "vendorName", "currency", "orderDate", "deliveryDate", "totalExVat", "awaitingInvoice",
    "nothingToInvoice", "openToInvoiceExactly", "qId", "qPurchaseNumber", "qVendorName", "qOrderName",
]  # fmt: skip


@pytest.mark.parametrize("case", FILTERS)
async def test_each_filter_narrows_the_purchase_orders_to_the_matching_ones(
    server: LiveServer, rest: httpx.AsyncClient, case: str
) -> None:
    params, matches = _cases(server)[case]
    expected = [d for d in purchase_orders(server, **ANY) if matches(d)]
    assert expected, f"the demo data has purchase orders for {case}"
    rows = await walk(rest, "/purchase-orders", pageSize=100, **ANY, **params)
    assert rows == [expected_purchase_order(d) for d in expected]


async def test_purchase_orders_default_to_active_orders(server: LiveServer, rest: httpx.AsyncClient) -> None:
    rows = await walk(rest, "/purchase-orders", pageSize=100)
    assert rows == [expected_purchase_order(d) for d in purchase_orders(server)]
    everything = await walk(rest, "/purchase-orders", pageSize=100, **ANY)
    assert everything == [expected_purchase_order(d) for d in purchase_orders(server, **ANY)]
    assert len(everything) > len(rows) > 0
    assert any(r["openToInvoiceExVat"] > 0 for r in everything)


async def test_a_pinned_status_replaces_the_flag_and_other_document_types_match_nothing(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    closed = next(d for d in documents(server) if d.type == "PURCHASEORDER" and not d.is_purchase)
    order = next(d for d in documents(server) if d.type == "SALESORDER")
    rows = await walk(rest, "/purchase-orders", pageSize=100, statusId=closed.status_id)
    assert [r["id"] for r in rows] == [d.id for d in purchase_orders(server, statusId=closed.status_id)]
    assert (await rest.get("/purchase-orders", params={"statusId": order.status_id})).json()["items"] == []


async def test_every_row_keeps_the_receipt_invariants(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/purchase-orders", params={"pageSize": 100, **ANY})).json(parse_float=Decimal)
    assert any(row["receivedQtyPercent"] is not None for row in body["items"])
    for row in body["items"]:
        received, invoiced = row["receivedValueExVat"], row["invoicedValueExVat"]
        assert row["openToInvoiceExVat"] == received - invoiced
        assert Decimal(0) <= invoiced <= received
        for name in ("orderTotalExVat", "orderTotalIncVat", "receivedValueExVat", "openToInvoiceExVat"):
            assert row[name].as_tuple().exponent == -2, (name, row[name])
        percent = row["receivedQtyPercent"]
        assert percent is None or percent.as_tuple().exponent == -1


async def test_paging_returns_every_purchase_order_exactly_once_newest_first(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, "/purchase-orders", pageSize=37, **ANY)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) > 3 * 37
    assert ids == [d.id for d in purchase_orders(server, **ANY)]


async def test_page_size_clamps_and_bad_parameters_are_400_naming_them(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/purchase-orders", params={"pageSize": 1000, **ANY})).json()
    assert body["pageSizeApplied"] == 100 and len(body["items"]) == 100
    customers = (await rest.get("/customers", params={"pageSize": 1})).json()
    for params, named in [
        ({"pageSize": 0}, "pageSize"),
        ({"cursor": customers["nextCursor"]}, "cursor"),
        ({"deliveryDateTo": "2026-13-01"}, "deliveryDateTo"),
        ({"openToInvoiceMin": "some"}, "openToInvoiceMin"),
        ({"statusKind": "intake"}, "statusKind"),
        ({"vendorId": "x"}, "vendorId"),
    ]:
        await assert_bad_request(rest, "/purchase-orders", params, named)


async def test_another_tenants_purchase_orders_never_show_up(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    theirs = [d for d in documents(server, "demo-b") if d.type == "PURCHASEORDER"]
    ours = {r["id"] for r in await walk(rest, "/purchase-orders", pageSize=100, **ANY)}
    assert ours and theirs and not ours & {d.id for d in theirs}
    body = (await rest.get("/purchase-orders", params={"q": str(theirs[0].id), **ANY})).json()
    assert theirs[0].id not in {r["id"] for r in body["items"]}


async def test_mcp_returns_the_same_body_as_rest(server: LiveServer, rest: httpx.AsyncClient) -> None:
    word = a_word_of(_sample(server).company_name)
    calls: list[dict[str, Any]] = [
        {"pageSize": 5},
        {"statusKind": "any", "openToInvoiceMin": 0.01, "pageSize": 3},
        {"statusKind": "any", "vendorName": word, "orderDateFrom": "2025-06-01", "pageSize": 4},
    ]
    async with mcp_session(server, sub=an_mcp_user()) as mcp:
        for arguments in calls:
            result = await mcp.call_tool("list_purchase_orders", arguments)
            assert not result.is_error, result.content
            rest_body = (await rest.get("/purchase-orders", params=arguments)).json()
            assert rest_body["items"]
            assert result.structured_content == rest_body
            assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    schema = tools["list_purchase_orders"].input_schema
    assert set(schema["properties"]) == {
        "vendorId", "vendorName", "currency", "statusId", "statusKind", "orderDateFrom", "orderDateTo",
        "deliveryDateFrom", "deliveryDateTo", "totalExVatMin", "totalExVatMax", "openToInvoiceMin",
        "openToInvoiceMax", "q", "cursor", "pageSize",
    }  # fmt: skip
    assert all(p.get("description") for p in schema["properties"].values())
