"""Odd input is a 400 naming the parameter (an isError result on MCP), never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession

from tests.support import LiveServer


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/sales-orders", {"customerId": "9223372036854775808"}, "customerId"),
        ("/customers/99999999999999999999", {}, "customerId"),
        ("/customers/3000000000", {}, "customerId"),
        ("/customers/1.0", {}, "customerId"),
        ("/sales-orders", {"orderDateFrom": "9999-12-31T23:59:59-05:00"}, "orderDateFrom"),
        ("/sales-orders", {"orderDateFrom": "0001-01-01T00:00:00+05:00"}, "orderDateFrom"),
        ("/sales-orders", {"totalMin": "1e999999"}, "totalMin"),
        ("/sales-orders", {"totalMax": "NaN"}, "totalMax"),
        ("/purchase-orders", {"openToInvoiceMin": "1e200000"}, "openToInvoiceMin"),
        ("/sales-orders", {"q": "a\x00b"}, "q"),
        ("/customers", {"q": "\x00"}, "q"),
        ("/sales-orders", {"statusKind": "everything"}, "statusKind"),
    ],
)
async def test_odd_query_values_are_400_naming_the_parameter(
    rest: httpx.AsyncClient, path: str, params: dict[str, str], named: str
) -> None:
    response = await rest.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_request"
    assert named in response.json()["message"]


async def test_a_huge_page_size_is_clamped_not_refused(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/customers", params={"pageSize": "99999999999999999999"})).json()
    assert body["pageSizeApplied"] == 100


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"customerId": True}, "customerId"),
        ({"pageSize": True}, "pageSize"),
        ({"customerId": [1]}, "customerId"),
        ({"from": 12345}, "from"),
        ({"includeNonSales": "perhaps"}, "includeNonSales"),
    ],
)
async def test_wrong_json_types_in_a_body_are_400(
    rest: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    response = await rest.post("/sales-invoice-lines", json=body)
    assert response.status_code == 400, response.text
    assert named in response.json()["message"]


def forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_a_cursor_of_another_tenant_or_with_forged_keys_is_400(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=server.url + "/api/v1", headers=server.headers("demo-b")) as other:
        foreign = (await other.get("/customers", params={"pageSize": 2})).json()["nextCursor"]
    response = await rest.get("/customers", params={"pageSize": 2, "cursor": foreign})
    assert response.status_code == 400
    mine = (await rest.get("/customers", params={"pageSize": 2})).json()["nextCursor"]
    payload = json.loads(base64.urlsafe_b64decode(mine + "=" * (-len(mine) % 4)))
    for key in (["a", 99999999999999999999], [{"t": "2026-01-01T00:00:00"}, 1], ["a", "x"]):
        response = await rest.get(
            "/customers", params={"pageSize": 2, "cursor": forged(payload | {"k": key})}
        )
        assert response.status_code == 400, key
        assert "cursor" in response.json()["message"]


async def test_mcp_arguments_of_the_wrong_type_are_error_results(mcp: ClientSession) -> None:
    for arguments in ({"customerId": 99999999999999999999}, {"pageSize": True}, {"customerId": "x"}):
        result = await mcp.call_tool("list_sales_orders", arguments)
        assert result.is_error, arguments
        assert json.loads(result.content[0].text)["code"] == "bad_request"  # type: ignore[union-attr]


async def test_a_tools_call_whose_params_are_not_an_object_is_a_protocol_error_not_a_crash(
    server: LiveServer,
) -> None:
    headers = {"Accept": "application/json, text/event-stream"} | server.headers(sub="odd-params")
    async with httpx.AsyncClient(base_url=server.url) as client:
        for params in ("x", [1]):
            message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
            response = await client.post("/mcp", json=message, headers=headers)
            assert response.status_code < 500
            assert "error" in response.json()
