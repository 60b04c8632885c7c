"""3-way matching through the doors: the drafts list, suggestions (REST and MCP), and the two
REST-only writes, with the cache, two tenants and concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer, rest_client
from tools import schema as s


@pytest.fixture
async def rest(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """Over the server's socket: these tests read the server's own suggestion cache in /metrics."""
    async with rest_client(server) as client:
        yield client


async def open_drafts(rest: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await rest.get("/purchase-invoice-drafts", params={"pageSize": 100} | params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def stored_pairs(server: LiveServer, draft_id: int) -> list[tuple[int, int]]:
    m = s.purchase_invoice_matches
    with sa.create_engine(server.settings.tenants["demo"]).connect() as conn:
        rows = conn.execute(sa.select(m.c.LineIndex, m.c.InvTransactionId).where(m.c.DraftId == draft_id))
        return sorted((row.LineIndex, row.InvTransactionId) for row in rows)


async def auto_pairs(rest: httpx.AsyncClient, draft_id: int) -> list[dict[str, int]]:
    body = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()
    return [
        {
            "invoiceLineIndex": line["invoiceLineIndex"],
            "orderItemId": c["orderItemId"],
            "invTransactionId": c["invTransactionId"],
        }
        for line in body["suggestions"]
        for c in line["candidates"]
        if c["isAutoEligible"]
    ]


async def a_draft_with_auto_pairs(rest: httpx.AsyncClient) -> tuple[int, list[dict[str, int]]]:
    for draft in await open_drafts(rest, matchState="unmatched"):
        pairs = await auto_pairs(rest, draft["invoiceId"])
        if len(pairs) >= 2:
            return draft["invoiceId"], pairs
    raise AssertionError("the demo data has drafts with auto-eligible matches")


async def test_drafts_list_shows_what_waits_to_be_matched(rest: httpx.AsyncClient) -> None:
    drafts = await open_drafts(rest, matchState="any")
    assert drafts
    for draft in drafts:
        assert draft["lineCount"] > 0
        assert 0 <= draft["matchedLineCount"] <= draft["lineCount"]
        assert draft["totalIncVat"] == round(draft["totalExVat"] + draft["totalVat"], 2)
    vendor = drafts[0]["vendorId"]
    assert {d["vendorId"] for d in await open_drafts(rest, vendorId=vendor, matchState="any")} == {vendor}
    dates = [(d["dateInvoice"], d["invoiceId"]) for d in drafts]
    assert dates == sorted(dates, reverse=True)


async def test_suggestions_are_the_same_over_rest_and_mcp(
    rest: httpx.AsyncClient, mcp: ClientSession
) -> None:
    draft_id = (await open_drafts(rest))[0]["invoiceId"]
    body = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()
    assert body["invoiceId"] == draft_id
    assert body["tolerances"] == {
        "qtyPercent": 0.02, "qtyAbsolute": 1, "pricePercent": 0.01,
        "priceAbsoluteSek": 5, "dateWindowDays": 14, "autoEligibleScore": 70,
    }  # fmt: skip
    for line in body["suggestions"]:
        assert len(line["candidates"]) <= 5
        if line["isExtraCharge"]:
            assert line["candidates"] == []
    result = await mcp.call_tool("suggest_invoice_matches", {"invoiceId": draft_id})
    assert not result.is_error
    assert result.structured_content == body


async def test_a_draft_of_another_tenant_is_not_found_and_nothing_is_written(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=server.url + "/api/v1", headers=server.headers("demo-b")) as other:
        foreign = (await open_drafts(other))[0]["invoiceId"]
    assert (await rest.get(f"/purchase-invoice-matches/{foreign}")).status_code == 404
    pair = {"invoiceLineIndex": 0, "orderItemId": 1, "invTransactionId": 1}
    response = await rest.post(f"/purchase-invoice-matches/{foreign}/confirm", json={"matches": [pair]})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_confirming_twice_stores_one_set_of_pairs(server: LiveServer, rest: httpx.AsyncClient) -> None:
    draft_id, pairs = await a_draft_with_auto_pairs(rest)
    for _ in range(2):
        response = await rest.post(f"/purchase-invoice-matches/{draft_id}/confirm", json={"matches": pairs})
        assert response.status_code == 200, response.text
        assert response.json() == {"invoiceId": draft_id}
    assert stored_pairs(server, draft_id) == sorted(
        (p["invoiceLineIndex"], p["invTransactionId"]) for p in pairs
    )
    listed = next(d for d in await open_drafts(rest, matchState="any") if d["invoiceId"] == draft_id)
    assert listed["matchedLineCount"] == len({p["invoiceLineIndex"] for p in pairs})


def cache_lookups(metrics: str) -> dict[str, float]:
    return {
        result: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        for result in ("hit", "miss")
        if line.startswith(f'asstio_matching_cache_total{{result="{result}"}}')
    }


async def test_suggestions_are_cached_until_a_confirm_on_the_draft(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    draft_id, pairs = await a_draft_with_auto_pairs(rest)
    async with httpx.AsyncClient(base_url=server.url) as plain:
        before = cache_lookups((await plain.get("/metrics")).text)
        first = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()
        assert (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json() == first
        cached = cache_lookups((await plain.get("/metrics")).text)
        await rest.post(f"/purchase-invoice-matches/{draft_id}/confirm", json={"matches": pairs[:1]})
        await rest.get(f"/purchase-invoice-matches/{draft_id}")
        after = cache_lookups((await plain.get("/metrics")).text)
    assert cached["hit"] == before["hit"] + 2  # a_draft_with_auto_pairs asked once already
    assert after["miss"] == cached["miss"] + 1


async def test_two_concurrent_confirms_lose_no_pair_and_duplicate_none(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    draft_id, pairs = await a_draft_with_auto_pairs(rest)
    halves = [pairs[: len(pairs) // 2 + 1], pairs[len(pairs) // 2 :]]
    url = f"/purchase-invoice-matches/{draft_id}/confirm"
    responses = await asyncio.gather(*(rest.post(url, json={"matches": half}) for half in halves))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert stored_pairs(server, draft_id) == sorted(
        (p["invoiceLineIndex"], p["invTransactionId"]) for p in pairs
    )


async def test_a_receipt_of_another_vendor_is_refused_and_nothing_is_written(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    draft_id, pairs = await a_draft_with_auto_pairs(rest)
    drafts = await open_drafts(rest, matchState="any")
    vendor = next(d["vendorId"] for d in drafts if d["invoiceId"] == draft_id)
    other = next(d["invoiceId"] for d in drafts if d["vendorId"] != vendor)
    foreign_pair = (await auto_pairs(rest, other))[0]
    before = stored_pairs(server, draft_id)
    response = await rest.post(
        f"/purchase-invoice-matches/{draft_id}/confirm", json={"matches": [*pairs, foreign_pair]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert stored_pairs(server, draft_id) == before


async def test_bad_confirm_bodies_are_400_naming_the_field(rest: httpx.AsyncClient) -> None:
    draft_id = (await open_drafts(rest))[0]["invoiceId"]
    url = f"/purchase-invoice-matches/{draft_id}/confirm"
    for body, named in [
        ({"matches": []}, "matches"),
        ({}, "matches"),
        ({"matches": [{"orderItemId": 1}]}, "matches"),
    ]:
        response = await rest.post(url, json=body)
        assert response.status_code == 400
        assert named in response.json()["message"]
    garbled = await rest.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbled.status_code == 400


async def test_whole_order_match_attaches_each_open_receipt_of_the_order_once(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    for draft in await open_drafts(rest, matchState="unmatched"):
        options = (await rest.get(f"/purchase-invoice-matches/{draft['invoiceId']}")).json()[
            "wholeOrderOptions"
        ]
        if options:
            break
    order_id = options[0]["orderId"]
    url = f"/purchase-invoice-matches/{draft['invoiceId']}/match-whole-order"
    for _ in range(2):
        response = await rest.post(url, json={"orderId": order_id})
        assert response.status_code == 200, response.text
    receipts = [receipt for _, receipt in stored_pairs(server, draft["invoiceId"])]
    assert receipts and len(receipts) == len(set(receipts))


async def test_the_matching_writes_are_not_mcp_tools(mcp: ClientSession) -> None:
    names = {tool.name for tool in (await mcp.list_tools()).tools}
    assert {"suggest_invoice_matches", "list_purchase_invoice_drafts"} <= names
    assert not names & {"confirm_invoice_matches", "match_whole_order"}


async def offered_receipts(rest: httpx.AsyncClient, draft_id: int) -> list[dict[str, Any]]:
    body = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()
    return [c for line in body["suggestions"] for c in line["candidates"]]


async def test_a_receipt_confirmed_on_one_draft_is_no_longer_offered_on_another(
    rest: httpx.AsyncClient,
) -> None:
    by_vendor: dict[int, list[dict[str, Any]]] = {}
    for draft in await open_drafts(rest, matchState="any"):
        by_vendor.setdefault(draft["vendorId"], []).append(draft)
    first, second = next(
        (a["invoiceId"], b["invoiceId"])
        for drafts in by_vendor.values()
        for a in drafts
        for b in drafts
        if a is not b and a["matchState"] == "unmatched"
    )
    candidate = (await offered_receipts(rest, first))[0]  # the suggestion for `first` is now cached
    claim = {
        "invoiceLineIndex": 0,
        "orderItemId": candidate["orderItemId"],
        "invTransactionId": candidate["invTransactionId"],
    }
    response = await rest.post(f"/purchase-invoice-matches/{second}/confirm", json={"matches": [claim]})
    assert response.status_code == 200, response.text
    offered = {c["invTransactionId"] for c in await offered_receipts(rest, first)}
    assert candidate["invTransactionId"] not in offered
