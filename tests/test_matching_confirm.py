"""Confirm and match-whole-order: validation, one transaction, idempotency, races (real threads)
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import postgres_database, postgres_reachable, require_service
from tests.test_matching_support import InvoiceLine, Shop, draft, open_shop, receive, stored_matches
from tools import schema as s
from tools.errors import BadRequest, NotFound
from tools.matching.models import ConfirmPair, ConfirmRequest, Tolerances
from tools.matching.service import confirm, match_whole_order

THREADS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    if request.param == "sqlite":
        shop = open_shop(f"sqlite:///{tmp_path / 'tenant.db'}")
        yield shop
        shop.engine.dispose()
        return
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("matching") as url:
        shop = open_shop(url)
        yield shop
        shop.engine.dispose()


def pairs(*triples: tuple[int, int, int]) -> ConfirmRequest:
    return ConfirmRequest(
        matches=[
            ConfirmPair(invoice_line_index=i, order_item_id=o, inv_transaction_id=t) for i, o, t in triples
        ]
    )


def order_item_of(shop: Shop, receipt_id: int) -> int:
    t = s.inv_transactions
    with shop.engine.connect() as conn:
        return int(conn.execute(sa.select(t.c.OrderItemId).where(t.c.Id == receipt_id)).scalar_one())


def two_line_draft(shop: Shop) -> tuple[int, list[int]]:
    vendor = shop.vendors[0]
    offers = vendor.offers[:2]
    receipts = receive(shop, vendor, [(offers[0], [5]), (offers[1], [3, 4])])
    draft_id = draft(shop, vendor, [InvoiceLine(offers[0], 5), InvoiceLine(offers[1], 7)])
    return draft_id, [receipts[0][0], *receipts[1]]


def request_for(shop: Shop, lines_and_receipts: list[tuple[int, int]]) -> ConfirmRequest:
    return pairs(*((line, order_item_of(shop, receipt), receipt) for line, receipt in lines_and_receipts))


def test_confirming_twice_stores_one_set_of_pairs(shop: Shop) -> None:
    draft_id, (r0, r1, r2) = two_line_draft(shop)
    request = request_for(shop, [(0, r0), (1, r1), (1, r2), (1, r2)])

    assert confirm(shop.engine, draft_id, request).invoice_id == draft_id
    confirm(shop.engine, draft_id, request)

    assert stored_matches(shop) == [(draft_id, 0, r0), (draft_id, 1, r1), (draft_id, 1, r2)]


def test_concurrent_confirms_on_one_draft_lose_no_pair_and_store_none_twice(shop: Shop) -> None:
    draft_id, (r0, r1, r2) = two_line_draft(shop)
    requests = [request_for(shop, [(0, r0), (1, r1)]), request_for(shop, [(1, r2), (0, r0)])]
    failures = run_together(
        [lambda n=n: confirm(shop.engine, draft_id, requests[n % 2]) for n in range(THREADS)]
    )

    assert failures == []
    assert stored_matches(shop) == [(draft_id, 0, r0), (draft_id, 1, r1), (draft_id, 1, r2)]


def test_concurrent_confirms_of_one_receipt_on_two_drafts_store_it_once(shop: Shop) -> None:
    draft_id, (r0, _, _) = two_line_draft(shop)
    other = draft(shop, shop.vendors[0], [InvoiceLine(shop.vendors[0].offers[0], 5)])
    request = request_for(shop, [(0, r0)])
    failures = run_together(
        [lambda n=n: confirm(shop.engine, (draft_id, other)[n % 2], request) for n in range(THREADS)]
    )

    assert len(stored_matches(shop)) == 1
    winner = stored_matches(shop)[0][0]
    assert all(
        isinstance(f, BadRequest) and f"already confirmed on draft {winner}" in f.message for f in failures
    )
    assert len(failures) == THREADS // 2


def test_another_vendors_receipt_is_a_bad_request_and_nothing_is_written(shop: Shop) -> None:
    draft_id, (r0, _, _) = two_line_draft(shop)
    theirs = shop.vendors[1]
    ((foreign,),) = receive(shop, theirs, [(theirs.offers[0], [5])])

    with pytest.raises(BadRequest, match=r"matches\[1\] .*from vendor") as error:
        confirm(shop.engine, draft_id, request_for(shop, [(0, r0), (1, foreign)]))

    assert f"invTransactionId {foreign}" in error.value.message
    assert stored_matches(shop) == []


def test_a_receipt_confirmed_on_another_draft_is_a_bad_request(shop: Shop) -> None:
    draft_id, (r0, _, _) = two_line_draft(shop)
    other = draft(shop, shop.vendors[0], [InvoiceLine(shop.vendors[0].offers[0], 5)])
    confirm(shop.engine, other, request_for(shop, [(0, r0)]))

    with pytest.raises(BadRequest, match=f"already confirmed on draft {other}"):
        confirm(shop.engine, draft_id, request_for(shop, [(0, r0)]))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.model_copy(update={"invoice_line_index": 9}), "invoice line 9 does not exist"),
        (
            lambda p: p.model_copy(update={"order_item_id": p.order_item_id + 10_000}),
            "is not the receipt's order line",
        ),
        (lambda p: p.model_copy(update={"inv_transaction_id": 987_654}), "no goods receipt"),
    ],
)
def test_a_bad_pair_names_its_index_and_reason(
    shop: Shop, change: Callable[[ConfirmPair], ConfirmPair], reason: str
) -> None:
    draft_id, (r0, _, _) = two_line_draft(shop)
    good = request_for(shop, [(0, r0)]).matches[0]

    with pytest.raises(BadRequest, match=rf"matches\[0\].*{reason}"):
        confirm(shop.engine, draft_id, ConfirmRequest(matches=[change(good)]))


def test_a_booked_receipt_cannot_be_confirmed_and_confirm_never_books(shop: Shop) -> None:
    draft_id, (r0, r1, _) = two_line_draft(shop)
    with shop.engine.begin() as conn:
        conn.execute(sa.update(s.inv_transactions).where(s.inv_transactions.c.Id == r0).values(IsBooked=True))

    with pytest.raises(BadRequest, match="already booked"):
        confirm(shop.engine, draft_id, request_for(shop, [(0, r0)]))
    confirm(shop.engine, draft_id, request_for(shop, [(1, r1)]))

    with shop.engine.connect() as conn:
        booked = conn.execute(
            sa.select(s.inv_transactions.c.Id).where(s.inv_transactions.c.IsBooked.is_(True))
        )
        assert list(booked.scalars()) == [r0]


def test_confirm_inside_the_callers_transaction_commits_with_it(shop: Shop) -> None:
    draft_id, (r0, _, _) = two_line_draft(shop)
    with shop.engine.begin() as conn:
        conn.execute(sa.select(1))
        confirm(conn, draft_id, request_for(shop, [(0, r0)]))
    assert stored_matches(shop) == [(draft_id, 0, r0)]


def test_match_whole_order_attaches_every_open_receipt_of_the_po_once(shop: Shop) -> None:
    vendor = shop.vendors[0]
    offers = vendor.offers[:3]
    receipts = receive(shop, vendor, [(offers[0], [5]), (offers[1], [3, 4]), (offers[2], [9])])
    draft_id = draft(
        shop,
        vendor,
        [InvoiceLine(None, 1, description="Frakt"), InvoiceLine(offers[0], 5), InvoiceLine(offers[1], 7)],
    )
    order_id = po_of(shop, receipts[0][0])

    match_whole_order(shop.engine, draft_id, order_id, Tolerances())
    match_whole_order(shop.engine, draft_id, order_id, Tolerances())

    stored = stored_matches(shop)
    assert [receipt for _, _, receipt in stored] == sorted(r for ids in receipts for r in ids)
    assert {receipt: line for _, line, receipt in stored} == {
        receipts[0][0]: 1,
        receipts[1][0]: 2,
        receipts[1][1]: 2,
        receipts[2][0]: 1,
    }


def test_match_whole_order_refuses_another_vendors_po_and_an_unknown_one(shop: Shop) -> None:
    draft_id, _ = two_line_draft(shop)
    theirs = shop.vendors[1]
    ((foreign,),) = receive(shop, theirs, [(theirs.offers[0], [5])])

    with pytest.raises(BadRequest, match=r"orderId .* is from vendor"):
        match_whole_order(shop.engine, draft_id, po_of(shop, foreign), Tolerances())
    with pytest.raises(NotFound, match="Purchase order 424242 not found"):
        match_whole_order(shop.engine, draft_id, 424242, Tolerances())
    with pytest.raises(NotFound, match="Purchase invoice draft 424242 not found"):
        match_whole_order(shop.engine, 424242, 1, Tolerances())
    assert stored_matches(shop) == []


def po_of(shop: Shop, receipt_id: int) -> int:
    oi = s.order_items
    with shop.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(oi.c.OrderId).where(oi.c.Id == order_item_of(shop, receipt_id))
            ).scalar_one()
        )


def run_together(calls: list[Callable[[], object]]) -> list[BaseException]:
    """Start every call at once on its own thread; whatever they raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        wait(futures, timeout=60)
    return [error for future in futures if (error := future.exception()) is not None]
