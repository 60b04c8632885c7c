"""An MCP client finds its way to a token on its own: 401 challenge -> resource metadata ->
authorization-server metadata -> registration -> authorize (approve page) -> token -> tool call."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from tests.support import LiveServer, sqlite_only

pytestmark = sqlite_only


REDIRECT = "http://127.0.0.1:33418/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class ApprovingUser:
    """Plays the person at the browser: reads the approve page and approves as `sub`."""

    def __init__(self, tenant: str, sub: str) -> None:
        self.tenant, self.sub = tenant, sub
        self.page = ""
        self.result: AuthorizationCodeResult | None = None

    async def open(self, authorization_url: str) -> None:
        async with httpx.AsyncClient() as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200
            self.page = page.text
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
            form = {k: html.unescape(v) for k, v in form.items()}
            action = urlparse(authorization_url)._replace(query="").geturl()
            decision = await browser.post(
                action, data=form | {"tenant": self.tenant, "sub": self.sub, "decision": "approve"}
            )
        assert decision.status_code == 302
        location = decision.headers["location"]
        assert location.startswith(REDIRECT)
        query = parse_qs(urlparse(location).query)
        self.result = AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


async def test_the_unauthenticated_path_points_at_the_metadata_and_the_authorization_server(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient() as client:
        challenge = await client.post(
            server.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert challenge.status_code == 401
        metadata_url = re.search(r'resource_metadata="([^"]+)"', challenge.headers["www-authenticate"])
        assert metadata_url is not None
        resource = (await client.get(metadata_url.group(1))).json()
        assert resource["resource"] == server.mcp_url
        issuer = resource["authorization_servers"][0]
        as_metadata = (await client.get(issuer + "/.well-known/oauth-authorization-server")).json()
        oidc = (await client.get(issuer + "/.well-known/openid-configuration")).json()
    assert as_metadata == oidc
    assert as_metadata["code_challenge_methods_supported"] == ["S256"]
    for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint"):
        assert as_metadata[endpoint].startswith(issuer)


async def test_the_official_mcp_client_completes_the_oauth_flow_and_calls_a_tool(server: LiveServer) -> None:
    user = ApprovingUser(tenant="demo-b", sub="oauth-user")
    auth = OAuthClientProvider(
        server_url=server.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="test agent",
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=MemoryStorage(),
        redirect_handler=user.open,
        callback_handler=user.callback,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        streamable_http_client(server.mcp_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("list_customers", {"pageSize": 2})
    assert "<strong>demo-user</strong>" in user.page and "<strong>demo</strong>" in user.page
    assert '<option value="demo-b">' in user.page
    assert not result.is_error
    assert result.structured_content is not None
    assert all(row["id"] > 50_000_000 for row in result.structured_content["items"])
