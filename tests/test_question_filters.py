"""The filters finance questions need, on the existing views (issue 14, item 4): overdue and open
invoices, late open order lines with their value, credit-note lines. Through both doors, on
SQLite and PostgreSQL; every expectation comes from SQL written here, never from the views."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import TODAY, LiveServer, cents, rest_client, walk
from tests.test_sales_orders import START_OF_TODAY

CENT = Decimal("0.01")

INVOICES = """
SELECT o."Id", o."CompanyId", o."DateDue", o."TotalIncVat", t."SystemName",
       (SELECT SUM(p."Amount") FROM "Payment" p WHERE p."OrderId" = o."Id") AS "Paid"
FROM "Orders" o
JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
WHERE t."SystemName" IN ('SALESINVOICE', 'SALESCREDIT') AND s."IsSales" = TRUE
ORDER BY o."DateInvoice" DESC, o."Id" DESC
"""

ORDER_LINES = """
SELECT i."Id", o."DateDelivery", i."QtyOrdered", i."QtyDelivered", i."Price", i."Discount", c."IsoCode"
FROM "Orders" o
JOIN "OrderItem" i ON i."OrderId" = o."Id"
JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
JOIN "Currency" c ON c."Id" = o."CurrencyId"
WHERE t."SystemName" = 'SALESORDER' AND s."IsOrderIntake" = TRUE
ORDER BY o."DateDelivery", o."Id", i."LineNo", i."Id"
"""

INVOICE_LINES = """
SELECT i."Id", t."SystemName", s."IsSales", i."Price", i."SumIncVat"
FROM "Orders" o
JOIN "OrderItem" i ON i."OrderId" = o."Id"
JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
WHERE t."SystemName" IN ('SALESINVOICE', 'SALESCREDIT') AND o."DateInvoice" IS NOT NULL
ORDER BY o."DateInvoice" DESC, o."Id" DESC, i."LineNo", i."Id"
"""


def moment(value: Any) -> datetime | None:
    """A stored datetime (SQLite's driver hands back text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def raw(server: LiveServer, sql: str, tenant: str = "demo") -> list[Any]:
    engine = sa.create_engine(server.settings.tenants[tenant])
    try:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql(sql))
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Invoice:
    id: int
    customer_id: int
    date_due: datetime | None
    open_amount: Decimal
    is_credit: bool

    @property
    def is_late(self) -> bool:
        return self.open_amount > 0 and self.date_due is not None and self.date_due < START_OF_TODAY


def invoices(server: LiveServer, tenant: str = "demo") -> list[Invoice]:
    return [
        Invoice(row[0], row[1], moment(row[2]), cents(row[3]) - cents(row[5]), row[4] == "SALESCREDIT")
        for row in raw(server, INVOICES, tenant)
    ]


def ids(rows: list[dict[str, Any]], key: str = "id") -> list[int]:
    return [row[key] for row in rows]


# -- sales invoices: overdue, open, fully paid ---------------------------------------------


async def test_is_late_lists_exactly_the_invoices_unpaid_past_their_due_date(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    every = [x for x in invoices(server) if not x.is_credit]
    late = [x.id for x in every if x.is_late]
    assert late, "the demo has overdue invoices"
    rows = await walk(rest, "/sales-invoices", isLate="true", pageSize=100)
    assert ids(rows) == late and all(row["isLate"] for row in rows)
    others = await walk(rest, "/sales-invoices", isLate="false", pageSize=100)
    assert ids(others) == [x.id for x in every if not x.is_late]


async def test_one_customers_overdue_invoices_come_in_one_call(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    late = [x for x in invoices(server) if x.is_late and not x.is_credit]
    customer = max({x.customer_id for x in late}, key=[x.customer_id for x in late].count)
    body = (await rest.get("/sales-invoices", params={"isLate": "true", "customerId": customer})).json()
    assert ids(body["items"]) == [x.id for x in late if x.customer_id == customer]
    assert sum(Decimal(str(row["openAmount"])) for row in body["items"]) == sum(
        x.open_amount for x in late if x.customer_id == customer
    )


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"isFullyPaid": "true"}, lambda x: x.open_amount <= 0),
        ({"isFullyPaid": "false"}, lambda x: x.open_amount > 0),
        ({"openAmountMin": "10000"}, lambda x: x.open_amount >= 10000),
        ({"openAmountMin": "0.01", "openAmountMax": "5000"}, lambda x: CENT <= x.open_amount <= 5000),
        ({"openAmountMax": "0"}, lambda x: x.open_amount <= 0),
    ],
    ids=["fullyPaid", "notFullyPaid", "openAtLeast", "openBetween", "openAtMostZero"],
)
async def test_open_amount_filters_compare_what_is_still_to_be_paid(
    server: LiveServer, rest: httpx.AsyncClient, params: dict[str, str], wanted: Any
) -> None:
    expected = [x.id for x in invoices(server) if not x.is_credit and wanted(x)]
    assert expected, f"the demo has invoices for {params}"
    assert ids(await walk(rest, "/sales-invoices", pageSize=100, **params)) == expected


async def test_an_exact_open_amount_finds_its_invoice(server: LiveServer, rest: httpx.AsyncClient) -> None:
    part_paid = [x for x in invoices(server) if not x.is_credit and x.open_amount > 0]
    sample = part_paid[len(part_paid) // 2]
    amount = str(sample.open_amount)
    rows = await walk(rest, "/sales-invoices", openAmountMin=amount, openAmountMax=amount)
    assert sample.id in ids(rows)
    assert all(Decimal(str(row["openAmount"])) == sample.open_amount for row in rows)


async def test_credit_notes_are_fully_paid_by_their_negative_open_amount(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    credits = [x.id for x in invoices(server) if x.is_credit and x.open_amount <= 0]
    rows = await walk(rest, "/sales-invoices", documentType="credit", isFullyPaid="true", pageSize=100)
    assert credits and ids(rows) == credits


async def test_the_other_tenant_has_its_own_overdue_invoices(server: LiveServer) -> None:
    late = [x.id for x in invoices(server, "demo-b") if x.is_late and not x.is_credit]
    async with rest_client(server, "demo-b") as rest_b:
        assert late and ids(await walk(rest_b, "/sales-invoices", isLate="true", pageSize=100)) == late


async def test_payment_filters_refuse_what_is_not_a_boolean_or_an_amount(rest: httpx.AsyncClient) -> None:
    for name, value in (
        ("isLate", "soon"),
        ("isFullyPaid", "2"),
        ("openAmountMin", "ten"),
        ("openAmountMax", "1e99"),
    ):
        response = await rest.get("/sales-invoices", params={name: value})
        assert response.status_code == 400 and name in response.json()["message"], (name, value)


# -- open order lines: late ones, with their open value -----------------------------------


@dataclass(frozen=True)
class OrderLine:
    id: int
    date_delivery: Any
    left: Decimal
    open_value: Decimal
    currency: str

    @property
    def is_late(self) -> bool:
        return self.left > 0 and self.date_delivery < START_OF_TODAY


def order_lines(server: LiveServer) -> list[OrderLine]:
    lines = []
    for line_id, delivery, ordered, delivered, price, discount, currency in raw(server, ORDER_LINES):
        left = Decimal(str(ordered)) - Decimal(str(delivered))
        net = Decimal(str(price)) * (100 - Decimal(str(discount))) / 100
        value = (max(left, Decimal(0)) * net).quantize(CENT, ROUND_HALF_UP)
        lines.append(OrderLine(line_id, moment(delivery), left, value, currency))
    return lines


async def test_late_open_order_lines_are_those_past_their_promised_date_with_their_open_value(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = order_lines(server)
    late = [x for x in lines if x.is_late]
    assert late and len(late) < len([x for x in lines if x.left > 0]), "some open lines are late, not all"
    rows = await walk(rest, "/open-order-lines", isLate="true", pageSize=100)
    assert ids(rows, "lineId") == [x.id for x in late]
    assert [(row["openValueExVat"], row["currencyIsoCode"], row["isLate"]) for row in rows] == [
        (float(x.open_value), x.currency, True) for x in late
    ]
    on_time = await walk(rest, "/open-order-lines", isLate="false", pageSize=100)
    assert ids(on_time, "lineId") == [x.id for x in lines if x.left > 0 and not x.is_late]


async def test_with_fully_delivered_lines_late_and_on_time_still_split_every_line(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    lines = order_lines(server)
    everything = {"includeFullyDelivered": "true", "pageSize": 100}
    late = await walk(rest, "/open-order-lines", isLate="true", **everything)
    assert ids(late, "lineId") == [x.id for x in lines if x.is_late]
    others = await walk(rest, "/open-order-lines", isLate="false", **everything)
    assert ids(others, "lineId") == [x.id for x in lines if not x.is_late]
    assert any(x.left <= 0 and x.date_delivery < START_OF_TODAY for x in lines), (
        "delivered lines past their date"
    )


async def test_every_open_line_carries_its_open_value_and_lateness(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    by_id = {x.id: x for x in order_lines(server)}
    rows = await walk(rest, "/open-order-lines", includeFullyDelivered="true", pageSize=100)
    assert len(rows) == len(by_id)
    for row in rows:
        line = by_id[row["lineId"]]
        assert (row["openValueExVat"], row["isLate"]) == (float(line.open_value), line.is_late), row


# -- sales invoice lines of credit notes --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ({"documentType": "credit"}, lambda kind, sales: kind == "SALESCREDIT" and sales),
        ({"documentType": "both"}, lambda kind, sales: sales),
        ({"documentType": "credit", "includeNonSales": True}, lambda kind, sales: kind == "SALESCREDIT"),
        ({}, lambda kind, sales: kind == "SALESINVOICE" and sales),
    ],
    ids=["credit", "both", "creditAnyStatus", "default"],
)
async def test_credit_note_lines_are_reached_through_document_type(
    server: LiveServer, rest: httpx.AsyncClient, body: dict[str, Any], wanted: Any
) -> None:
    lines = [row for row in raw(server, INVOICE_LINES) if wanted(row[1], bool(row[2]))]
    rows = await walk_lines(rest, pageSize=100, **body)
    assert ids(rows, "lineId") == [row[0] for row in lines]
    kinds = {row[0]: "credit" if row[1] == "SALESCREDIT" else "invoice" for row in lines}
    assert all(row["documentType"] == kinds[row["lineId"]] for row in rows)
    if body.get("documentType") == "credit":
        assert rows and all(row["price"] <= 0 and row["sumIncVat"] <= 0 for row in rows)


async def walk_lines(rest: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (
            (await rest.post("/sales-invoice-lines", json=body | {"cursor": cursor}))
            .raise_for_status()
            .json()
        )
        rows += page["items"]
        if page["nextCursor"] is None:
            return rows
        cursor = page["nextCursor"]


async def test_a_document_type_the_lines_do_not_know_is_refused(rest: httpx.AsyncClient) -> None:
    response = await rest.post("/sales-invoice-lines", json={"documentType": "quote"})
    assert response.status_code == 400 and "documentType" in response.json()["message"]


# -- vendor prices: valid ones first, in the home currency ---------------------------------

PRICES = """
SELECT sp."Id", sp."ProductId", sp."Price", c."RateToSek", sp."ValidFrom", sp."ValidTo",
       (SELECT h."RateToSek" FROM "Currency" h WHERE h."IsoCode" = :home) AS "HomeRate"
FROM "SupplierPrice" sp JOIN "Currency" c ON c."Id" = sp."CurrencyId"
"""


@dataclass(frozen=True)
class Price:
    id: int
    product_id: int
    price: Decimal
    rate_to_sek: Decimal
    valid_from: Any
    valid_to: Any
    home_rate: Decimal

    def valid_on(self, moment: datetime) -> bool:
        starts, ends = self.valid_from, self.valid_to
        return (starts is None or starts <= moment) and (ends is None or ends >= moment)

    @property
    def cheapest_first(self) -> tuple[Decimal, int]:
        return (self.price * self.rate_to_sek).quantize(Decimal("0.000001"), ROUND_HALF_UP), self.id

    @property
    def price_home(self) -> float:
        rate = (self.rate_to_sek / self.home_rate).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        return float((self.price * rate).quantize(CENT, ROUND_HALF_UP))


def home_currency(server: LiveServer, tenant: str = "demo") -> str:
    return str(server.settings.tenant_options().get(tenant, {}).get("homeCurrency", "SEK"))


def prices(server: LiveServer, tenant: str = "demo") -> list[Price]:
    engine = sa.create_engine(server.settings.tenants[tenant])
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(PRICES), {"home": home_currency(server, tenant)}).all()
    finally:
        engine.dispose()
    return [
        Price(
            row[0],
            row[1],
            Decimal(str(row[2])),
            Decimal(str(row[3])),
            moment(row[4]),
            moment(row[5]),
            Decimal(str(row[6])),
        )
        for row in rows
    ]


def a_product_whose_cheapest_price_expired(all_prices: list[Price]) -> int:
    by_product: dict[int, list[Price]] = {}
    for price in all_prices:
        by_product.setdefault(price.product_id, []).append(price)
    for product, mine in sorted(by_product.items()):
        ranked = sorted(mine, key=lambda x: x.cheapest_first)
        if not ranked[0].valid_on(START_OF_TODAY) and any(x.valid_on(START_OF_TODAY) for x in ranked):
            return product
    raise AssertionError("the demo has a product whose cheapest price has expired")


async def test_valid_on_today_leaves_out_the_expired_price_that_would_rank_first(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    all_prices = prices(server)
    product = a_product_whose_cheapest_price_expired(all_prices)
    mine = sorted((x for x in all_prices if x.product_id == product), key=lambda x: x.cheapest_first)
    rows = await walk(rest, "/vendor-prices", productId=product, validOn=TODAY.isoformat())
    expected = [(float(x.price), True) for x in mine if x.valid_on(START_OF_TODAY)]
    assert expected and [(row["price"], row["isValid"]) for row in rows] == expected


async def test_valid_first_ranks_todays_prices_before_the_others_each_with_its_home_price(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    all_prices = prices(server)
    product = a_product_whose_cheapest_price_expired(all_prices)
    mine = [x for x in all_prices if x.product_id == product]
    ranked = sorted(mine, key=lambda x: (not x.valid_on(START_OF_TODAY), x.cheapest_first))
    rows = await walk(rest, "/vendor-prices", productId=product, validFirst="true", pageSize=1)
    assert [(row["price"], row["isValid"], row["priceHome"]) for row in rows] == [
        (float(x.price), x.valid_on(START_OF_TODAY), x.price_home) for x in ranked
    ]
    assert {row["homeCurrencyIsoCode"] for row in rows} == {home_currency(server)}
    default = await walk(rest, "/vendor-prices", productId=product)
    assert default[0]["isValid"] is False, "without validFirst the order stays cheapest first"


async def test_every_price_of_the_other_tenant_is_in_its_home_currency(server: LiveServer) -> None:
    all_prices = prices(server, "demo-b")
    product = a_product_whose_cheapest_price_expired(all_prices)
    expected = sorted((x for x in all_prices if x.product_id == product), key=lambda x: x.cheapest_first)
    async with rest_client(server, "demo-b") as rest_b:
        rows = await walk(rest_b, "/vendor-prices", productId=product)
    assert [row["priceHome"] for row in rows] == [x.price_home for x in expected]
    assert {row["homeCurrencyIsoCode"] for row in rows} == {home_currency(server, "demo-b")}


async def test_a_valid_on_that_is_not_a_date_is_refused(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/vendor-prices", params={"productId": 1, "validOn": "soon"})
    assert response.status_code == 400 and "validOn" in response.json()["message"]


# -- purchase-invoice drafts ready to match automatically -----------------------------------

MATCHED_LINES = 'SELECT "DraftId", "LineIndex" FROM "PurchaseInvoiceMatch"'


async def expected_auto_match(server: LiveServer, rest: httpx.AsyncClient, draft_id: int) -> tuple[int, bool]:
    """From the draft's own suggestions (the suggest door) and its matched lines (SQL here)."""
    matched = {line for draft, line in raw(server, MATCHED_LINES) if draft == draft_id}
    suggestions = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()["suggestions"]
    open_goods = [
        line for line in suggestions if not line["isExtraCharge"] and line["invoiceLineIndex"] not in matched
    ]
    eligible = [line for line in open_goods if any(c["isAutoEligible"] for c in line["candidates"])]
    return len(eligible), bool(open_goods) and len(eligible) == len(open_goods)


async def test_drafts_carry_their_auto_eligible_line_count_when_asked(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    plain = await walk(rest, "/purchase-invoice-drafts", pageSize=100)
    assert plain and all(row["autoEligibleLineCount"] is None for row in plain)
    rows = await walk(rest, "/purchase-invoice-drafts", withAutoEligible="true", pageSize=7)
    assert ids(rows, "invoiceId") == ids(plain, "invoiceId")
    for row in rows:
        expected = await expected_auto_match(server, rest, row["invoiceId"])
        assert (row["autoEligibleLineCount"], row["readyToAutoMatch"]) == expected, row["invoiceId"]


async def test_ready_to_auto_match_splits_the_drafts_in_their_order(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    every = await walk(rest, "/purchase-invoice-drafts", pageSize=100)
    verdicts = {
        row["invoiceId"]: (await expected_auto_match(server, rest, row["invoiceId"]))[1] for row in every
    }
    ready = [draft for draft in ids(every, "invoiceId") if verdicts[draft]]
    waiting = [draft for draft in ids(every, "invoiceId") if not verdicts[draft]]
    assert ready and waiting, "the demo has drafts of both kinds"
    assert (
        ids(await walk(rest, "/purchase-invoice-drafts", readyToAutoMatch="true", pageSize=3), "invoiceId")
        == ready
    )
    rows = await walk(rest, "/purchase-invoice-drafts", readyToAutoMatch="false", pageSize=4)
    assert ids(rows, "invoiceId") == waiting and not any(row["readyToAutoMatch"] for row in rows)


async def test_a_ready_page_cursor_is_bound_to_its_filter(rest: httpx.AsyncClient) -> None:
    params = {"readyToAutoMatch": "false", "pageSize": 1}
    first = (await rest.get("/purchase-invoice-drafts", params=params)).json()
    assert first["nextCursor"] and first["truncated"], "more than one draft waits for a person"
    response = await rest.get(
        "/purchase-invoice-drafts", params={"readyToAutoMatch": "true", "cursor": first["nextCursor"]}
    )
    assert response.status_code == 400 and "cursor" in response.json()["message"]


# -- the MCP door gives the same bodies ---------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "method", "path", "arguments"),
    [
        ("list_sales_invoices", "GET", "/sales-invoices", {"isLate": True, "pageSize": 5}),
        ("list_sales_invoices", "GET", "/sales-invoices", {"openAmountMin": "1000", "isFullyPaid": False}),
        ("list_open_order_lines", "GET", "/open-order-lines", {"isLate": True, "pageSize": 5}),
        (
            "list_sales_invoice_lines",
            "POST",
            "/sales-invoice-lines",
            {"documentType": "credit", "pageSize": 5},
        ),
    ],
)
async def test_mcp_gives_the_same_filtered_page_as_rest(
    server: LiveServer,
    mcp: ClientSession,
    rest: httpx.AsyncClient,
    tool: str,
    method: str,
    path: str,
    arguments: dict[str, Any],
) -> None:
    if arguments.get("productId") == 0:
        arguments = arguments | {"productId": min(x.product_id for x in prices(server))}
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    if method == "GET":
        query = {
            key: str(value).lower() if isinstance(value, bool) else value for key, value in arguments.items()
        }
        body = (await rest.get(path, params=query)).json()
    else:
        body = (await rest.post(path, json=arguments)).json()
    assert body["items"] and result.structured_content == body
    assert json.loads(result.content[0].text) == body  # type: ignore[union-attr]
