"""Every view answers the same body over REST and over MCP for the same arguments."""

from __future__ import annotations

import json
from typing import Any

import httpx
from mcp.client.session import ClientSession

from tests.support import SAMPLE_ARGUMENTS
from tools.view import View, registered_views


def query_string(arguments: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in arguments.items()}


async def rest_body(rest: httpx.AsyncClient, view: View, arguments: dict[str, Any]) -> Any:
    path = view.path
    remaining = dict(arguments)
    for name in view.path_params:
        path = path.replace("{" + name + "}", str(remaining.pop(name)))
    if view.method == "POST":
        response = await rest.post(path, json=remaining)
    else:
        response = await rest.get(path, params=query_string(remaining))
    assert response.status_code == 200, (view.name, response.text)
    return response.json()


async def known_ids(rest: httpx.AsyncClient) -> dict[str, int]:
    customer = (await rest.get("/customers", params={"pageSize": 1})).json()["items"][0]["id"]
    product = (await rest.get("/products/find", params={"q": "a", "limit": 1})).json()[0]["productId"]
    draft = (await rest.get("/purchase-invoice-drafts", params={"pageSize": 1})).json()["items"][0]
    return {"customerId": customer, "productId": product, "invoiceId": draft["invoiceId"]}


async def test_every_view_returns_the_same_body_over_rest_and_mcp(
    rest: httpx.AsyncClient, mcp: ClientSession
) -> None:
    # Both doors in-process into the same app (and so the same 30 s suggest cache), so that a
    # match confirmed by an earlier test cannot make one door stale.
    await assert_doors_agree(rest, mcp)


async def assert_doors_agree(rest: httpx.AsyncClient, mcp: ClientSession) -> None:
    ids = await known_ids(rest)
    by_id = {
        "customer": [{"customerId": ids["customerId"]}],
        "vendor-prices": [
            {"productId": ids["productId"]},
            {"productId": ids["productId"], "validFirst": True},
        ],
        "purchase-invoice-matches": [{"invoiceId": ids["invoiceId"]}],
    }
    checked = set()
    for view in registered_views():
        if view.writes:
            continue
        for arguments in SAMPLE_ARGUMENTS.get(view.name, []) + by_id.get(view.name, []):
            body = await rest_body(rest, view, arguments)
            result = await mcp.call_tool(view.tool, arguments)
            assert not result.is_error, (view.tool, result.content)
            structured = result.structured_content
            assert structured == (body if isinstance(body, dict) else {"result": body}), view.tool
            assert json.loads(result.content[0].text) == body  # type: ignore[union-attr]
            checked.add(view.name)
    assert checked == {v.name for v in registered_views() if not v.writes}
