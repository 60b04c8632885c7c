"""Matching exactly as the contract words it (audit items 1-3): `isAutoEligible` is the
contract's rule and only that, money has two decimals, candidates are ranked by score; and
purchase-order values at the line's price after its discount (item 4)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support import LiveServer, rest_client, start_server, walk
from tools import schema as s


@pytest.fixture(scope="module")
def private_server(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own over the same tenants: reading every draft's suggestions
    fills only its own 30 s suggestion cache, not the one other modules compare against."""
    live = start_server(tmp_path_factory.mktemp("audit-matching"), dict(server.settings.tenants))
    yield live
    live.stop()


@pytest.fixture
async def rest(private_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_client(private_server) as client:
        yield client


async def every_suggestion(rest: httpx.AsyncClient) -> list[tuple[str, dict[str, Any]]]:
    """(raw text, parsed body with exact decimals) of the suggestions for every draft."""
    drafts = await walk(rest, "/purchase-invoice-drafts", matchState="any", pageSize=100)
    assert drafts
    answers = []
    for draft in drafts:
        response = await rest.get(f"/purchase-invoice-matches/{draft['invoiceId']}")
        assert response.status_code == 200, response.text
        answers.append((response.text, json.loads(response.text, parse_float=Decimal)))
    return answers


def inside(variance: Decimal, absolute: Decimal, percent: Decimal, of: Decimal) -> bool:
    return abs(variance) <= absolute or abs(variance) <= percent * abs(of)


def meets_the_contract_rule(candidate: dict[str, Any], quantity: Decimal, tol: dict[str, Any]) -> bool:
    """The seed: "score >= tolerance threshold AND every variance inside its tolerance"."""
    received = quantity - Decimal(candidate["qtyVariance"])
    return (
        candidate["score"] >= tol["autoEligibleScore"]
        and inside(Decimal(candidate["qtyVariance"]), tol["qtyAbsolute"], tol["qtyPercent"], received)
        and inside(
            candidate["priceVarianceSek"],
            tol["priceAbsoluteSek"],
            tol["pricePercent"],
            candidate["receiptUnitPriceSek"],
        )
        and abs(candidate["dateVarianceDays"]) <= tol["dateWindowDays"]
    )


async def test_is_auto_eligible_is_exactly_the_contracts_rule_and_the_recommendation_is_stricter(
    rest: httpx.AsyncClient,
) -> None:
    eligible_not_recommended = 0
    for _, body in await every_suggestion(rest):
        tol = body["tolerances"]
        for line in body["suggestions"]:
            for c in line["candidates"]:
                assert c["isAutoEligible"] == meets_the_contract_rule(c, Decimal(line["quantity"]), tol)
                assert not c["isAutoRecommended"] or c["isAutoEligible"]
                if c["isAutoEligible"] and not c["isAutoRecommended"]:
                    eligible_not_recommended += 1
                    assert c["autoBlockReason"] in {"Ambiguous", "ClaimedByOtherLine", "OrderNotCorroborated"}
                else:
                    assert c["autoBlockReason"] is None
    assert eligible_not_recommended > 0


def cents(value: Any) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


async def test_money_in_matching_has_two_decimals_and_never_a_negative_zero(rest: httpx.AsyncClient) -> None:
    for text, body in await every_suggestion(rest):
        assert "-0.00" not in text
        for line in body["suggestions"]:
            assert cents(line["unitPrice"]) and cents(line["totalExVat"])
            for c in line["candidates"]:
                assert cents(c["receiptUnitPriceSek"]) and cents(c["priceVarianceSek"])
        for receipt in body["unmatchedReceipts"]:
            assert cents(receipt["receiptUnitPriceSek"])


async def test_list_views_never_write_a_negative_zero(rest: httpx.AsyncClient) -> None:
    for path, params in [
        ("/sales-invoices", {"documentType": "both", "pageSize": 100}),
        ("/purchase-orders", {"statusKind": "any", "pageSize": 100}),
        ("/customers", {"pageSize": 100}),
    ]:
        response = await rest.get(path, params=params)
        assert response.status_code == 200 and "-0.00" not in response.text and "-0.0," not in response.text


async def test_candidates_are_ranked_by_score_and_a_receipt_claimed_by_another_line_says_which(
    rest: httpx.AsyncClient,
) -> None:
    claimed_seen = 0
    for _, body in await every_suggestion(rest):
        offered = {
            line["invoiceLineIndex"]: {c["invTransactionId"]: c for c in line["candidates"]}
            for line in body["suggestions"]
        }
        for line in body["suggestions"]:
            scores = [c["score"] for c in line["candidates"]]
            assert scores == sorted(scores, reverse=True)
            for c in line["candidates"]:
                claimant = c["claimedByLineIndex"]
                if claimant is None:
                    continue
                claimed_seen += 1
                assert claimant != line["invoiceLineIndex"]
                assert c["autoBlockReason"] in {None, "ClaimedByOtherLine"} and not c["isAutoRecommended"]
                assert offered[claimant][c["invTransactionId"]]["claimedByLineIndex"] is None
    assert claimed_seen > 0


def receipt_values(server: LiveServer) -> dict[int, tuple[Decimal, Decimal, bool]]:
    """Per purchase order, from its goods receipts: (received, invoiced) at the line's price
    after its discount, rounded to the cent, and whether a discounted line was received."""
    t, i = s.inv_transactions, s.order_items
    engine = sa.create_engine(server.settings.tenants["demo"])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.OrderId, t.c.Qty, i.c.Price, i.c.Discount, t.c.IsBooked).join(
                i, i.c.Id == t.c.OrderItemId
            )
        ).all()
    engine.dispose()
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for order_id, qty, price, discount, booked in rows:
        value = Decimal(str(qty)) * Decimal(str(price)) * (100 - Decimal(str(discount))) / 100
        sums[order_id][0] += value
        sums[order_id][1] += value if booked else 0
        sums[order_id][2] += Decimal(str(discount))
    cent = Decimal("0.01")
    return {
        order: (received.quantize(cent, ROUND_HALF_UP), invoiced.quantize(cent, ROUND_HALF_UP), discounts > 0)
        for order, (received, invoiced, discounts) in sums.items()
    }


async def test_purchase_order_values_honour_line_discounts(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    expected = receipt_values(server)
    orders = await walk(rest, "/purchase-orders", statusKind="any", pageSize=100)
    discounted = 0
    for order in orders:
        received, invoiced, has_discount = expected.get(order["id"], (Decimal(0), Decimal(0), False))
        assert Decimal(str(order["receivedValueExVat"])) == received, order["id"]
        assert Decimal(str(order["invoicedValueExVat"])) == invoiced, order["id"]
        discounted += has_discount
    assert discounted > 0
