"""The MCP door as a client sees it: strict tool arguments, and the same answer whichever way
the transport delivers it (one JSON body through the lean path, or the SDK's SSE stream)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from mcp.client.session import ClientSession

from tests.support import LiveServer

JSON_FIRST = {"Accept": "application/json, text/event-stream"}
STREAM_FIRST = {"Accept": "text/event-stream, application/json;q=0.5"}


async def post(server: LiveServer, message: dict[str, Any], accept: dict[str, str], sub: str) -> Any:
    """One JSON-RPC message over plain HTTP; the reply, whether sent as JSON or as an SSE event."""
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(sub=sub), timeout=30) as client:
        response = await client.post("/mcp", json=message, headers=accept)
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads(next(event for event in events if event))


def call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name} if arguments is None else {"name": name, "arguments": arguments}
    return {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": params}


async def test_an_unknown_argument_is_an_error_result_naming_it_and_the_tools_arguments(
    mcp: ClientSession,
) -> None:
    listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    accepted = list(listed["list_sales_invoices"].input_schema["properties"])
    result = await mcp.call_tool("list_sales_invoices", {"isVeryLate": True, "pageSize": 5})
    assert result.is_error
    envelope = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert envelope["code"] == "bad_request"
    assert "'isVeryLate'" in envelope["message"]
    assert all(name in envelope["message"] for name in accepted)
    assert result.structured_content is None


async def test_every_tool_schema_forbids_arguments_it_does_not_declare(mcp: ClientSession) -> None:
    for tool in (await mcp.list_tools()).tools:
        assert tool.input_schema["additionalProperties"] is False, tool.name


async def test_rest_keeps_ignoring_unknown_parameters(server: LiveServer) -> None:
    async with httpx.AsyncClient(
        base_url=server.url + "/api/v1", headers=server.headers(sub="rest-x")
    ) as api:
        plain = await api.get("/sales-invoices", params={"pageSize": 3})
        extra = await api.get("/sales-invoices", params={"pageSize": 3, "isVeryLate": "true"})
    assert extra.status_code == 200
    assert extra.json() == plain.json()


async def test_a_tool_answers_the_same_as_json_and_as_an_event_stream(server: LiveServer) -> None:
    message = call("list_sales_orders", {"pageSize": 7})
    as_json = await post(server, message, JSON_FIRST, "lean-1")
    as_stream = await post(server, message, STREAM_FIRST, "lean-1")
    assert as_json == as_stream
    assert as_json["id"] == 11
    assert len(as_json["result"]["structuredContent"]["items"]) == 7
    assert json.loads(as_json["result"]["content"][0]["text"]) == as_json["result"]["structuredContent"]


async def test_the_tool_list_is_the_same_as_json_and_as_an_event_stream(server: LiveServer) -> None:
    message = {"jsonrpc": "2.0", "id": "list", "method": "tools/list"}
    as_json = await post(server, message, JSON_FIRST, "lean-2")
    as_stream = await post(server, message, STREAM_FIRST, "lean-2")
    assert as_json == as_stream
    assert {tool["name"] for tool in as_json["result"]["tools"]} >= {"list_sales_orders", "get_customer"}


async def test_protocol_faults_are_the_same_json_rpc_errors_either_way(server: LiveServer) -> None:
    without_a_name = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"arguments": {}}}
    as_json = await post(server, without_a_name, JSON_FIRST, "lean-3")
    as_stream = await post(server, without_a_name, STREAM_FIRST, "lean-3")
    assert as_json == as_stream
    assert as_json["error"]["code"] == -32602
    assert "result" not in as_json


async def test_an_unknown_tool_is_an_error_result_either_way(server: LiveServer) -> None:
    as_json = await post(server, call("drop_all_tables", {}), JSON_FIRST, "lean-4")
    as_stream = await post(server, call("drop_all_tables", {}), STREAM_FIRST, "lean-4")
    for reply in (as_json, as_stream):
        assert reply["result"]["isError"] is True
        assert "drop_all_tables" in reply["result"]["content"][0]["text"]


def without_trace_ids(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply with each error envelope's traceId blanked (every request has its own)."""
    for block in reply.get("result", {}).get("content", []):
        body = json.loads(block["text"])
        if isinstance(body, dict) and "traceId" in body:
            block["text"] = json.dumps(body | {"traceId": None})
    return reply


async def test_the_lean_tool_call_writes_what_the_sdk_kernel_writes_for_every_outcome_and_version(
    server: LiveServer,
) -> None:
    """The JSON path answers tools/call without the SDK's per-call result models; the SSE path
    goes through the SDK's kernel (its validation, result types and serialization). Same body:
    results with nulls, error results (bad and unknown arguments), each handshake version."""
    calls = [
        call("get_customer", {"customerId": 1}),
        call("list_sales_orders", {"pageSize": 3, "statusKind": "any"}),
        call("list_sales_orders", {"pageSize": "many"}),
        call("get_customer", {"customerId": 1, "tenant": "other"}),
        call("get_customer"),
    ]
    for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"):
        header = {"mcp-protocol-version": version}
        for number, message in enumerate(calls):
            sub = f"kernel-{version}-{number}"
            as_json = await post(server, message, JSON_FIRST | header, sub)
            as_stream = await post(server, message, STREAM_FIRST | header, sub)
            assert without_trace_ids(as_json) == without_trace_ids(as_stream), (version, message)
