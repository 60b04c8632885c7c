"""Who may call: bearer tokens through the JWKS path, tenants, discovery, on both doors."""

from __future__ import annotations

import httpx

from tests.support import AUDIENCE, LiveServer, sqlite_only

pytestmark = sqlite_only


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


async def test_no_token_is_401_with_a_challenge_naming_the_resource_metadata(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for response in (
            await client.get("/api/v1/customers"),
            await client.post("/mcp", json=LIST_TOOLS, headers=MCP_HEADERS),
        ):
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith("Bearer ")
            assert f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"' in challenge
            assert "scope=" in challenge
        assert response.json()["traceId"]


async def test_garbage_expired_and_foreign_tokens_are_401(server: LiveServer) -> None:
    expired = server.issuer.mint(tenant="demo", sub="u", audience=AUDIENCE, ttl_seconds=-120)
    wrong_audience = server.issuer.mint(tenant="demo", sub="u", audience="someone-else")
    async with httpx.AsyncClient(base_url=server.url) as client:
        for token in ("garbage", "a.b.c", expired, wrong_audience, "x" * 20_000):
            response = await client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, token[:20]
            assert response.json()["code"] == "unauthorized"
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
            assert response.headers["x-asstio-api-version"] == "v1"


async def test_a_token_of_a_tenant_not_served_here_is_403(server: LiveServer) -> None:
    token = server.issuer.mint(tenant="somebody-else", sub="u", audience=AUDIENCE)
    async with httpx.AsyncClient(base_url=server.url) as client:
        rest = await client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
        mcp = await client.post(
            "/mcp", json=LIST_TOOLS, headers=MCP_HEADERS | {"Authorization": f"Bearer {token}"}
        )
    for response in (rest, mcp):
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


async def test_protected_resource_metadata_is_the_same_at_both_well_known_paths(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        root = (await client.get("/.well-known/oauth-protected-resource")).json()
        suffixed = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
    assert root == suffixed
    assert root["resource"] == server.mcp_url
    assert root["authorization_servers"] == [server.url]


async def test_the_demo_serves_its_own_discovery_and_keys(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        config = (await client.get("/.well-known/openid-configuration")).json()
        keys = (await client.get("/oauth/v2/keys")).json()
    assert config["issuer"] == server.url
    assert keys["keys"][0]["kid"] == server.issuer.kid


async def test_unknown_api_paths_are_404_envelopes(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.headers["x-asstio-api-version"] == "v1"


async def test_a_foreign_browser_origin_is_refused_on_mcp(server: LiveServer) -> None:
    headers = MCP_HEADERS | server.headers()
    async with httpx.AsyncClient(base_url=server.url) as client:
        foreign = await client.post(
            "/mcp", json=LIST_TOOLS, headers=headers | {"Origin": "http://evil.example"}
        )
        own = await client.post("/mcp", json=LIST_TOOLS, headers=headers | {"Origin": server.url})
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "forbidden"
    assert own.status_code == 200


async def test_an_oversized_mcp_body_is_a_400_envelope(server: LiveServer) -> None:
    huge = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * 2_000_000}}
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/mcp", json=huge, headers=MCP_HEADERS | server.headers())
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


async def test_mcp_answers_json_or_an_event_stream_as_the_client_accepts(server: LiveServer) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "list_customers", "arguments": {"pageSize": 1}},
    }
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(sub="accept-user")) as client:
        as_json = await client.post(
            "/mcp", json=call, headers={"Accept": "application/json, text/event-stream"}
        )
        as_stream = await client.post(
            "/mcp", json=call, headers={"Accept": "text/event-stream, application/json;q=0.5"}
        )
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["result"]["structuredContent"]["pageSizeApplied"] == 1
    assert as_stream.headers["content-type"].startswith("text/event-stream")
    data = [line[5:].strip() for line in as_stream.text.splitlines() if line.startswith("data:")]
    assert any('"pageSizeApplied":1' in item for item in data)


async def test_an_unsupported_method_is_an_envelope_too(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        response = await client.request("OPTIONS", "/api/v1/customers")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["x-asstio-api-version"] == "v1"
