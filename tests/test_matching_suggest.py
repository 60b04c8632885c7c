"""Suggest: ranking, auto-eligibility and extra charges on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from tests.test_matching_support import InvoiceLine, Shop, draft, open_shop, receive
from tools.errors import NotFound
from tools.matching.models import ConfirmPair, ConfirmRequest, MatchCandidate, MatchResponse, Tolerances
from tools.matching.service import SuggestCache, confirm, suggest, suggest_many

TOLERANCES = Tolerances()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    shop = open_shop(f"sqlite:///{tmp_path / 'tenant.db'}")
    yield shop
    shop.engine.dispose()


def suggestions(shop: Shop, draft_id: int) -> MatchResponse:
    with shop.engine.connect() as conn:
        return suggest(conn, draft_id, TOLERANCES)


def test_an_exact_receipt_is_the_top_candidate_and_auto_eligible(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offers = vendor.offers[:4]
    receipts = receive(shop, vendor, [(offer, [10 + n]) for n, offer in enumerate(offers)])
    draft_id = draft(shop, vendor, [InvoiceLine(offer, 10 + n) for n, offer in enumerate(offers)])

    response = suggestions(shop, draft_id)

    for line, (receipt_id,) in zip(response.suggestions, receipts, strict=True):
        top = line.candidates[0]
        assert top.inv_transaction_id == receipt_id
        assert top.is_auto_eligible
        assert {"VendorSku", "ProductNumber", "QtyExact", "PriceExact", "DateProximity"} <= set(top.reasons)
        assert top.qty_variance == 0 and top.price_variance_sek == 0


def test_two_near_equal_receipts_are_neither_recommended(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offers = vendor.offers[:4]
    receive(shop, vendor, [(offers[0], [12]), (offers[0], [12]), *((offer, [5]) for offer in offers[1:])])
    draft_id = draft(
        shop, vendor, [InvoiceLine(offers[0], 12), *(InvoiceLine(offer, 5) for offer in offers[1:])]
    )

    twins = suggestions(shop, draft_id).suggestions[0].candidates

    assert twins[0].score == twins[1].score
    assert not any(c.is_auto_recommended for c in twins)
    assert twins[0].auto_block_reason == "Ambiguous"


def test_a_split_delivery_is_offered_as_parts_that_add_up(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offers = vendor.offers[:3]
    receipts = receive(shop, vendor, [(offers[0], [30, 20]), (offers[1], [4]), (offers[2], [6])])
    draft_id = draft(
        shop, vendor, [InvoiceLine(offers[0], 50), InvoiceLine(offers[1], 4), InvoiceLine(offers[2], 6)]
    )

    parts = suggestions(shop, draft_id).suggestions[0].candidates[:2]

    assert {c.inv_transaction_id for c in parts} == set(receipts[0])
    assert all("SplitDelivery" in c.reasons and c.qty_variance == 0 and c.is_auto_eligible for c in parts)


def test_extra_charge_lines_get_no_candidates(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offer = vendor.offers[0]
    receive(shop, vendor, [(offer, [1])])
    lines = [
        InvoiceLine(offer, 1),
        InvoiceLine(None, 1, Decimal(1), description="Fraktavgift"),
        InvoiceLine(None, 1, Decimal(1), description="Expeditionsavgift"),
        InvoiceLine(None, 1, Decimal(1), description="Leveransservice", is_extra_charge=True),
    ]
    response = suggestions(shop, draft(shop, vendor, lines))

    assert [(s.is_extra_charge, s.candidates) for s in response.suggestions[1:]] == [(True, [])] * 3


def test_another_vendors_receipts_are_never_candidates(shop: Shop) -> None:
    ours, theirs = shop.vendors
    receive(shop, theirs, [(theirs.offers[0], [7])])
    response = suggestions(shop, draft(shop, ours, [InvoiceLine(ours.offers[0], 7)]))

    assert response.company_id == ours.id
    assert response.suggestions[0].candidates == []


def inside_the_contracts_tolerances(candidate: MatchCandidate, line_quantity: Decimal) -> bool:
    """The README's rule with the contract's default numbers, written here and not taken from
    the scorer: each variance within its absolute OR its percentage tolerance (qty 1 unit or 2 %
    of what was received, unit price 5 SEK or 1 % of the receipt's), the receipt within 14 days."""
    received = line_quantity - candidate.qty_variance
    qty = abs(candidate.qty_variance) <= max(Decimal(1), Decimal("0.02") * abs(received))
    price_limit = max(Decimal(5), Decimal("0.01") * abs(candidate.receipt_unit_price_sek))
    price = abs(candidate.price_variance_sek) <= price_limit
    return qty and price and abs(candidate.date_variance_days) <= 14


def auto_eligible_by_its_figures(candidate: MatchCandidate, line_quantity: Decimal) -> bool:
    """Score at least 70 and inside every tolerance (the contract's rule); a blocked candidate
    passes it and is eligible but not recommended."""
    passes = candidate.score >= 70 and inside_the_contracts_tolerances(candidate, line_quantity)
    if candidate.auto_block_reason is not None:
        return passes and candidate.is_auto_eligible and not candidate.is_auto_recommended
    return candidate.is_auto_eligible == passes and candidate.is_auto_recommended == passes


def test_every_candidate_is_auto_eligible_exactly_when_its_figures_say_so(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offers = vendor.offers[:6]
    receive(shop, vendor, [(offer, [n + 3, n + 4]) for n, offer in enumerate(offers)])
    drifted = [InvoiceLine(offer, n + 3, offer.price_sek * Decimal("1.03")) for n, offer in enumerate(offers)]
    for draft_id in (draft(shop, vendor, drifted), draft(shop, vendor, [InvoiceLine(o, 4) for o in offers])):
        for line in suggestions(shop, draft_id).suggestions:
            assert all(auto_eligible_by_its_figures(c, line.quantity) for c in line.candidates)


def test_an_unknown_draft_is_not_found(shop: Shop) -> None:
    with shop.engine.connect() as conn, pytest.raises(NotFound, match="Purchase invoice draft 999 not found"):
        suggest(conn, 999, TOLERANCES)


def empty_response() -> MatchResponse:
    return MatchResponse(
        invoice_id=1,
        company_id=2,
        tolerances=TOLERANCES,
        suggestions=[],
        unmatched_receipts=[],
        whole_order_options=[],
    )


def test_the_suggest_cache_keeps_a_response_for_thirty_seconds_per_tenant_and_draft() -> None:
    now = [1000.0]
    cache = SuggestCache(clock=lambda: now[0])
    response = empty_response()
    cache.put("demo", 1, response)
    now[0] += 29.9
    assert cache.get("demo", 1) is response
    assert cache.get("demo-b", 1) is None
    now[0] += 0.1
    assert cache.get("demo", 1) is None


def test_a_confirm_invalidates_the_cache_and_a_slower_suggest_cannot_refill_it() -> None:
    now = [0.0]
    cache = SuggestCache(clock=lambda: now[0])
    response = empty_response()
    cache.put("demo", 1, response)
    started = now[0] = 1.0
    now[0] = 2.0
    cache.invalidate_tenant("demo")
    cache.put("demo", 1, response, started_at=started)
    assert cache.get("demo", 1) is None


def test_cache_lookups_from_many_threads_are_each_counted_once() -> None:
    cache = SuggestCache()
    cache.put("demo", 1, empty_response())

    def look_up(n: int) -> None:
        for _ in range(2000):
            cache.get("demo", 1 + n % 2)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(look_up, range(8)))
    samples = next(iter(cache.lookups.collect())).samples
    counted = {s.labels["result"]: s.value for s in samples if s.name.endswith("_total")}
    assert counted == {"hit": 8000, "miss": 8000}


def test_drafts_suggested_together_get_what_each_gets_alone(shop: Shop) -> None:
    """suggest_many (the drafts list's readyToAutoMatch scores a page of drafts with it) answers
    every draft exactly as suggest does alone: each vendor's receipts, and a receipt claimed by
    one draft offered to that draft only."""
    first, second = shop.vendors[0], shop.vendors[1]
    (claimed, *rest), _ = receive(shop, first, [(first.offers[0], [5, 6]), (first.offers[1], [7])])
    receive(shop, second, [(second.offers[0], [3]), (second.offers[2], [4, 4])])
    claiming = draft(shop, first, [InvoiceLine(first.offers[0], 5)])
    others = [
        draft(shop, first, [InvoiceLine(first.offers[0], 6), InvoiceLine(first.offers[1], 7)]),
        draft(shop, second, [InvoiceLine(second.offers[0], 3), InvoiceLine(second.offers[2], 8)]),
        draft(shop, second, [InvoiceLine(None, 1, Decimal("95"), "Frakt", is_extra_charge=True)]),
    ]
    order_item = suggestions(shop, claiming).suggestions[0].candidates[0].order_item_id
    pair = ConfirmPair(invoice_line_index=0, order_item_id=order_item, inv_transaction_id=claimed)
    confirm(shop.engine, claiming, ConfirmRequest(matches=[pair]))
    drafts = [claiming, *others]

    with shop.engine.connect() as conn:
        together = suggest_many(conn, [*drafts, 999_999], TOLERANCES)

    assert set(together) == set(drafts)
    for draft_id in drafts:
        assert together[draft_id] == suggestions(shop, draft_id)
    offered = {c.inv_transaction_id for line in together[others[0]].suggestions for c in line.candidates}
    assert claimed not in offered and set(rest) <= offered
