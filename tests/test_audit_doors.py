"""What an audit, a red team and an operator found at the doors (issue 11), each through a
real server: tokens without a tenant, typed JSON bodies, envelopes everywhere, bounded bodies,
labels and log lines only of known names, the configured limit, a Redis that is down."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from tests.support import AUDIENCE, LiveServer, free_port, start_server
from tools import schema as s

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def tool_call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def is_envelope(response: httpx.Response, status: int, code: str) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("application/json")
        and body["code"] == code
        and bool(body["traceId"])
    )


@pytest.fixture
def own_server(sqlite_tenants: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """A server of the test's own with some settings changed."""
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        started.append(start_server(tmp_path / str(len(started)), sqlite_tenants, **overrides))
        return started[-1]

    yield start
    for live in started:
        live.stop()


async def test_a_valid_token_without_a_tenant_is_403_on_both_doors(server: LiveServer) -> None:
    token = server.issuer.mint(tenant="", sub="no-tenant", audience=AUDIENCE)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        rest = await client.get("/api/v1/customers")
        mcp = await client.post("/mcp", json=tool_call("list_customers"), headers=MCP_HEADERS)
    for response in (rest, mcp):
        assert is_envelope(response, 403, "forbidden")
        assert "tenant" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"includeNonSales": "yes"}, "includeNonSales"),
        ({"pageSize": "5"}, "pageSize"),
        ({"customerId": "1"}, "customerId"),
    ],
)
async def test_a_json_body_is_typed_strictly_text_is_not_a_number_or_a_boolean(
    rest: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    response = await rest.post("/sales-invoice-lines", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and named in response.json()["message"]
    typed = await rest.post("/sales-invoice-lines", json={"includeNonSales": True, "pageSize": 5})
    assert typed.status_code == 200 and typed.json()["pageSizeApplied"] == 5


async def test_a_refused_cors_preflight_is_an_envelope(server: LiveServer) -> None:
    preflight = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.options("/api/v1/customers", headers=preflight)
    assert is_envelope(response, 400, "bad_request")
    assert "CORS" in response.json()["message"]


async def test_a_redis_that_is_down_gives_503_on_tool_calls_and_readyz_reports_it(own_server: Any) -> None:
    live = own_server(rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")
    async with httpx.AsyncClient(base_url=live.url, headers=live.headers(), timeout=30) as client:
        call = await client.post("/mcp", json=tool_call("list_customers"), headers=MCP_HEADERS)
        assert is_envelope(call, 503, "service_unavailable")
        assert (await client.get("/api/v1/customers")).status_code == 200
        ready = (await client.get("/readyz")).json()
    assert ready["rateLimitStorage"] == "unavailable"


async def test_the_configured_rate_limit_is_enforced_and_announced(own_server: Any) -> None:
    live = own_server(rate_limit_per_minute=3)
    async with httpx.AsyncClient(base_url=live.url, headers=live.headers(sub="three"), timeout=30) as client:
        answers = [
            await client.post("/mcp", json=tool_call("list_customers"), headers=MCP_HEADERS) for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "3 tool calls per minute" in answers[-1].json()["message"]
    assert answers[-1].headers["retry-after"] == "60"


def metric_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("asstio_requests_total{")]


async def test_unknown_paths_and_tool_names_never_become_metric_labels_or_long_log_lines(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    stranger_path = f"/no-such-{uuid.uuid4().hex}"
    long_tool = "t" * 200_000
    with caplog.at_level(logging.INFO, logger="asstio"):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            assert (await client.get(stranger_path)).status_code == 404
            assert (await client.get("/api/v1" + stranger_path)).status_code == 401
            call = await client.post(
                "/mcp", json=tool_call(long_tool), headers=MCP_HEADERS | server.headers(sub="long-tool")
            )
            assert call.status_code == 200 and call.json()["result"]["isError"]
            metrics = (await client.get("/metrics")).text
    assert stranger_path[1:] not in metrics and "ttttt" not in metrics
    assert any('route="unknown"' in line for line in metric_lines(metrics))
    assert any('tool="unknown"' in line for line in metric_lines(metrics))
    assert all(len(record.getMessage()) < 2000 for record in caplog.records)


async def test_deeply_nested_json_is_400_on_every_door(server: LiveServer) -> None:
    nested = b"[" * 5000 + b"]" * 5000
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(sub="nested")) as client:
        answers = [
            await client.post("/mcp", content=nested, headers=MCP_HEADERS),
            await client.post("/api/v1/sales-invoice-lines", content=nested),
            await client.post(
                "/api/v1/purchase-invoice-matches/1/confirm", content=b'{"matches":' + nested + b"}"
            ),
        ]
    for response in answers:
        assert is_envelope(response, 400, "bad_request"), response.text[:200]


async def a_draft_and_its_vendors_receipt(
    server: LiveServer, rest: httpx.AsyncClient
) -> tuple[int, int, int]:
    drafts = (await rest.get("/purchase-invoice-drafts", params={"matchState": "unmatched"})).json()["items"]
    draft_id = drafts[0]["invoiceId"]
    body = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()
    candidate = next(c for line in body["suggestions"] for c in line["candidates"])
    return draft_id, candidate["orderItemId"], candidate["invTransactionId"]


async def test_a_confirm_with_more_pairs_than_the_cap_is_400_saying_the_limit(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    draft_id, item, receipt = await a_draft_and_its_vendors_receipt(server, rest)
    pair = {"invoiceLineIndex": 0, "orderItemId": item, "invTransactionId": receipt}
    response = await rest.post(
        f"/purchase-invoice-matches/{draft_id}/confirm", json={"matches": [pair] * 1001}
    )
    assert is_envelope(response, 400, "bad_request")
    assert "matches" in response.json()["message"] and "1000" in response.json()["message"]


async def test_every_request_body_has_one_size_limit(server: LiveServer) -> None:
    big = b'{"pad": "' + b"x" * 2_000_000 + b'"}'

    async def chunks() -> Any:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=30) as client:
        declared = await client.post("/api/v1/sales-invoice-lines", content=big)
        streamed = await client.post("/api/v1/sales-invoice-lines", content=chunks())
        confirm = await client.post("/api/v1/purchase-invoice-matches/1/confirm", content=chunks())
        mcp_declared = await client.post("/mcp", content=big, headers=MCP_HEADERS)
        mcp_streamed = await client.post("/mcp", content=chunks(), headers=MCP_HEADERS)
    for response in (declared, streamed, confirm, mcp_declared, mcp_streamed):
        assert is_envelope(response, 400, "bad_request")
        assert "1024 KB" in response.json()["message"]


async def test_get_on_mcp_is_405_a_stateless_server_holds_no_event_stream(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=10) as client:
        response = await client.get("/mcp", headers={"Accept": "text/event-stream"})
    assert is_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/api/v1/sales-invoice-lines", "/mcp"])
async def test_a_declared_body_that_never_comes_is_answered_within_the_body_deadline(
    own_server: Any, path: str
) -> None:
    live = own_server(request_body_timeout_seconds=1)
    port = int(live.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
        f"Authorization: Bearer {live.token()}\r\nContent-Length: 100\r\n\r\n"
    )
    writer.write(head.encode() + b'{"pageSize":')
    await writer.drain()
    answer = await asyncio.wait_for(read_response(reader), timeout=10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"code":"request_timeout"' in answer


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


def stored_for(server: LiveServer, draft_id: int) -> set[tuple[int, int, int]]:
    m = s.purchase_invoice_matches
    engine = sa.create_engine(server.settings.tenants["demo"])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.c.LineIndex, m.c.OrderItemId, m.c.InvTransactionId).where(m.c.DraftId == draft_id)
        )
        stored = {tuple(row) for row in rows}
    engine.dispose()
    return stored  # type: ignore[return-value]


async def test_match_whole_order_says_what_it_attached_and_a_repeat_attaches_nothing(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    drafts = (await rest.get("/purchase-invoice-drafts", params={"matchState": "unmatched"})).json()["items"]
    draft_id = drafts[-1]["invoiceId"]
    option = (await rest.get(f"/purchase-invoice-matches/{draft_id}")).json()["wholeOrderOptions"][0]
    before = stored_for(server, draft_id)
    path = f"/purchase-invoice-matches/{draft_id}/match-whole-order"
    first = (await rest.post(path, json={"orderId": option["orderId"]})).json()
    repeat = await rest.post(path, json={"orderId": option["orderId"]})
    attached = {(p["invoiceLineIndex"], p["orderItemId"], p["invTransactionId"]) for p in first["attached"]}
    assert len(attached) == option["receiptCount"]
    assert stored_for(server, draft_id) - before == attached
    assert repeat.status_code == 200 and repeat.json()["attached"] == []


async def test_a_batch_and_a_non_json_body_on_mcp_are_plain_envelopes(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(sub="batch")) as client:
        batch = await client.post("/mcp", json=[tool_call("list_customers")] * 2, headers=MCP_HEADERS)
        text = await client.post(
            "/mcp", content=b"hello", headers=MCP_HEADERS | {"Content-Type": "text/plain"}
        )
    assert is_envelope(batch, 400, "bad_request") and "batch" in batch.json()["message"]
    assert "pydantic" not in batch.text and "validation error" not in batch.text
    assert is_envelope(text, 400, "bad_request") and "application/json" in text.json()["message"]


async def test_readyz_counts_tenants_without_naming_them(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        ready = await client.get("/readyz")
    assert ready.json()["tenants"] == {"ok": 2, "unavailable": 0}
    assert "demo" not in ready.text
    assert json.loads(ready.text)["rateLimitStorage"] == "ok"


async def test_operators_can_turn_on_a_per_user_rest_limit_with_a_budget_of_its_own(own_server: Any) -> None:
    live = own_server(rest_rate_limit_per_minute=2)
    async with httpx.AsyncClient(
        base_url=live.url, headers=live.headers(sub="rest-limited"), timeout=30
    ) as client:
        statuses = [(await client.get("/api/v1/customers")).status_code for _ in range(3)]
        refused = await client.get("/api/v1/customers")
        tool = await client.post("/mcp", json=tool_call("list_customers"), headers=MCP_HEADERS)
    assert statuses == [200, 200, 429]
    assert (
        is_envelope(refused, 429, "rate_limited")
        and "2 REST requests per minute" in refused.json()["message"]
    )
    assert refused.headers["retry-after"] == "60"
    assert tool.status_code == 200 and not tool.json()["result"]["isError"]


async def test_rest_has_no_per_user_limit_by_default(server: LiveServer) -> None:
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.headers(sub="rest-free"), timeout=30
    ) as client:
        statuses = {
            (await client.get("/api/v1/customers", params={"pageSize": 1})).status_code for _ in range(70)
        }
    assert statuses == {200}


async def test_a_connection_that_never_finishes_its_headers_is_closed(
    sqlite_tenants: dict[str, str], tmp_path: Path
) -> None:
    from mcp_server.app import build_app
    from mcp_server.serving import HeaderDeadlineProtocol
    from mcp_server.settings import Settings

    class QuickDeadline(HeaderDeadlineProtocol):
        header_timeout_seconds = 1.0

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(tenants=sqlite_tenants, public_url=url, issuers=[url], audience=AUDIENCE)
    server = uvicorn.Server(
        uvicorn.Config(build_app(settings), port=port, http=QuickDeadline, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the blank line never comes
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed by the server
        writer.close()
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200
    finally:
        server.should_exit = True
        await task
