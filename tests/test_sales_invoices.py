"""Sales invoices and credit notes through both doors, against seeded SQLite and PostgreSQL.

Expectations come from the raw-row oracle of ``tests.test_sales_orders``, never from the view.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, mcp_session, walk
from tests.test_sales_orders import (
    START_OF_TODAY,
    Document,
    a_word_of,
    an_mcp_user,
    assert_bad_request,
    counts_as,
    documents,
    iso,
    money,
    utc,
)

TYPES = {"invoice": ("SALESINVOICE",), "credit": ("SALESCREDIT",), "both": ("SALESINVOICE", "SALESCREDIT")}


def in_invoice_view(d: Document, params: dict[str, Any]) -> bool:
    types = TYPES[params.get("documentType", "invoice")]
    return counts_as(d, types, params, {"sales": d.is_sales, "any": True})


def newest_invoice_first(docs: list[Document]) -> list[Document]:
    return sorted(docs, key=lambda d: (d.date_invoice or d.date_order, d.id), reverse=True)


def invoices(server: LiveServer, **params: Any) -> list[Document]:
    return newest_invoice_first([d for d in documents(server) if in_invoice_view(d, params)])


def expected_invoice(d: Document) -> dict[str, Any]:
    overdue = d.date_due is not None and d.date_due < START_OF_TODAY
    return {
        "id": d.id,
        "invoiceNumber": d.invoice_number,
        "customerId": d.company_id,
        "customerName": d.company_name,
        "customerOrgno": d.company_orgno,
        "statusId": d.status_id,
        "statusName": d.status_name,
        "dateInvoice": iso(d.date_invoice),
        "dateDue": iso(d.date_due),
        "dateOrder": iso(d.date_order),
        "totalExVat": money(d.total_ex_vat),
        "totalVat": money(d.total_vat),
        "totalIncVat": money(d.total_inc_vat),
        "openAmount": money(d.open_amount),
        "paidAmount": money(d.paid),
        "isLate": d.open_amount > 0 and overdue,
        "isFullyPaid": d.open_amount <= 0,
        "currencyIsoCode": d.currency,
        "documentType": "credit" if d.type == "SALESCREDIT" else "invoice",
    }


Case = tuple[dict[str, Any], Callable[[Document], bool]]


def _sample(server: LiveServer) -> Document:
    named = [d for d in invoices(server) if d.name and d.date_due]
    return named[len(named) // 4]


def _cases(server: LiveServer) -> dict[str, Case]:
    d = _sample(server)
    word = a_word_of(d.company_name)
    assert d.date_due is not None
    due = d.date_due.date().isoformat()
    return {
        "customerId": ({"customerId": d.company_id}, lambda x: x.company_id == d.company_id),
        "customerName": ({"customerName": word.upper()}, lambda x: word.lower() in x.company_name.lower()),
        "currency": ({"currency": "E"}, lambda x: "E" in x.currency),
        "invoiceDate": (
            {"invoiceDateFrom": "2026-03-02", "invoiceDateTo": "2026-03-31"},
            lambda x: x.date_invoice is not None and utc("2026-03-02") <= x.date_invoice <= utc("2026-03-31"),
        ),
        "dueDateOneDay": (
            {"dueDateFrom": due, "dueDateTo": due},
            lambda x: x.date_due == utc(due),
        ),
        "totalExactly": (
            {"totalMin": str(d.total_ex_vat), "totalMax": str(d.total_ex_vat)},
            lambda x: x.total_ex_vat == d.total_ex_vat,
        ),
        "totalAtLeast": ({"totalMin": "20000"}, lambda x: x.total_ex_vat >= 20000),
        "qId": ({"q": str(d.id)}, lambda x: x.matches_text(str(d.id), x.invoice_number)),
        "qInvoiceNumber": (
            {"q": str(d.invoice_number)},
            lambda x: x.matches_text(str(d.invoice_number), x.invoice_number),
        ),
        "qCustomerName": ({"q": word}, lambda x: x.matches_text(word, x.invoice_number)),
        "qOrderName": ({"q": "ramavtal"}, lambda x: x.matches_text("ramavtal", x.invoice_number)),
    }


FILTERS = [
    "customerId", "customerName", "currency", "invoiceDate", "dueDateOneDay", "totalExactly",
    "totalAtLeast", "qId", "qInvoiceNumber", "qCustomerName", "qOrderName",
]  # fmt: skip


@pytest.mark.parametrize("case", FILTERS)
async def test_each_filter_narrows_the_invoices_to_the_matching_ones(
    server: LiveServer, rest: httpx.AsyncClient, case: str
) -> None:
    params, matches = _cases(server)[case]
    expected = [d for d in invoices(server) if matches(d)]
    assert expected, f"the demo data has invoices for {case}"
    rows = await walk(rest, "/sales-invoices", pageSize=100, **params)
    assert rows == [expected_invoice(d) for d in expected]


async def test_sales_invoices_default_to_revenue_invoices_without_credits(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, "/sales-invoices", pageSize=100)
    assert rows == [expected_invoice(d) for d in invoices(server)]
    assert {r["documentType"] for r in rows} == {"invoice"}
    assert any(r["isLate"] for r in rows) and any(r["isFullyPaid"] for r in rows)
    assert any(0 < r["paidAmount"] < r["totalIncVat"] for r in rows), "the demo has part-paid invoices"


@pytest.mark.parametrize(
    "params",
    [{"documentType": "credit"}, {"documentType": "both"}, {"documentType": "both", "statusKind": "any"}],
)
async def test_credit_notes_come_only_when_asked_for(
    server: LiveServer, rest: httpx.AsyncClient, params: dict[str, str]
) -> None:
    rows = await walk(rest, "/sales-invoices", pageSize=100, **params)
    assert rows == [expected_invoice(d) for d in invoices(server, **params)]
    assert "credit" in {r["documentType"] for r in rows}
    assert all(r["totalExVat"] < 0 for r in rows if r["documentType"] == "credit")


async def test_a_pinned_status_replaces_the_flag_and_must_be_of_the_document_type(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    docs = documents(server)
    preview = next(d for d in docs if d.type == "SALESINVOICE" and not d.is_sales)
    credit = next(d for d in docs if d.type == "SALESCREDIT" and d.is_sales)
    order = next(d for d in docs if d.type == "SALESORDER")
    rows = await walk(rest, "/sales-invoices", statusId=preview.status_id)
    assert [r["id"] for r in rows] == [d.id for d in invoices(server, statusId=preview.status_id)]
    assert preview.id in {r["id"] for r in rows}
    for status_id in (credit.status_id, order.status_id):
        assert (await rest.get("/sales-invoices", params={"statusId": status_id})).json()["items"] == []
    rows = await walk(rest, "/sales-invoices", statusId=credit.status_id, documentType="credit", pageSize=100)
    assert {r["id"] for r in rows} == {d.id for d in docs if d.status_id == credit.status_id}


async def test_every_row_keeps_the_money_invariants(rest: httpx.AsyncClient) -> None:
    params: dict[str, Any] = {"pageSize": 100, "documentType": "both", "statusKind": "any"}
    body = (await rest.get("/sales-invoices", params=params)).json(parse_float=Decimal)
    for row in body["items"]:
        assert row["totalIncVat"] == row["totalExVat"] + row["totalVat"]
        assert row["openAmount"] == row["totalIncVat"] - row["paidAmount"]
        assert row["isFullyPaid"] == (row["openAmount"] <= 0)
        for name in ("totalExVat", "totalVat", "totalIncVat", "openAmount", "paidAmount"):
            assert row[name].as_tuple().exponent == -2, (name, row[name])


async def test_paging_returns_every_invoice_exactly_once_newest_invoice_first(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    params = {"invoiceDateFrom": "2026-05-01", "documentType": "both"}
    rows = await walk(rest, "/sales-invoices", pageSize=37, **params)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) > 3 * 37
    since = utc("2026-05-01")
    expected = [
        d.id for d in invoices(server, documentType="both") if d.date_invoice and d.date_invoice >= since
    ]
    assert ids == expected


async def test_page_size_clamps_and_bad_parameters_are_400_naming_them(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/sales-invoices", params={"pageSize": 1000})).json()
    assert body["pageSizeApplied"] == 100 and len(body["items"]) == 100
    customers = (await rest.get("/customers", params={"pageSize": 1})).json()
    for params, named in [
        ({"pageSize": 0}, "pageSize"),
        ({"cursor": customers["nextCursor"]}, "cursor"),
        ({"dueDateFrom": "2026-11-31"}, "dueDateFrom"),
        ({"documentType": "receipt"}, "documentType"),
        ({"statusKind": "intake"}, "statusKind"),
    ]:
        await assert_bad_request(rest, "/sales-invoices", params, named)


async def test_another_tenants_invoices_never_show_up(server: LiveServer, rest: httpx.AsyncClient) -> None:
    theirs = {d.id for d in documents(server, "demo-b") if d.type in ("SALESINVOICE", "SALESCREDIT")}
    params = {"pageSize": 100, "documentType": "both", "statusKind": "any"}
    ours = {r["id"] for r in await walk(rest, "/sales-invoices", **params)}
    assert ours and theirs and not ours & theirs


async def test_mcp_returns_the_same_body_as_rest(server: LiveServer, rest: httpx.AsyncClient) -> None:
    word = a_word_of(_sample(server).company_name)
    calls: list[dict[str, Any]] = [
        {"pageSize": 5},
        {"documentType": "both", "customerName": word, "pageSize": 3},
        {
            "documentType": "credit",
            "invoiceDateTo": "2026-10-01T00:00:00Z",
            "totalMax": -100,
            "pageSize": 4,
        },
    ]
    async with mcp_session(server, sub=an_mcp_user()) as mcp:
        for arguments in calls:
            result = await mcp.call_tool("list_sales_invoices", arguments)
            assert not result.is_error, result.content
            rest_body = (await rest.get("/sales-invoices", params=arguments)).json()
            assert rest_body["items"]
            assert result.structured_content == rest_body
            assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    schema = tools["list_sales_invoices"].input_schema
    assert set(schema["properties"]) == {
        "customerId", "customerName", "currency", "statusId", "statusKind", "documentType",
        "invoiceDateFrom", "invoiceDateTo", "dueDateFrom", "dueDateTo", "totalMin", "totalMax", "q",
        "cursor", "pageSize",
        "isLate", "isFullyPaid", "openAmountMin", "openAmountMax",  # additive (issue 14)
    }  # fmt: skip
    assert all(p.get("description") for p in schema["properties"].values())
