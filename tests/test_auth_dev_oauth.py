"""The development authorization server, driven the way an MCP client drives it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from auth.principal import Principal
from auth.verifier import JwtVerifier
from demo.dev_oauth import dev_oauth_routes
from tests.support import AUDIENCE, DEV_ISSUER_URL, dev_issuer, dev_oauth_client, dev_verifier

ISSUER_URL = DEV_ISSUER_URL
REDIRECT_URI = "http://127.0.0.1:33418/oauth/callback"


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with dev_oauth_client(dev_issuer(tmp_path, ISSUER_URL)) as client:
        yield client


@pytest.fixture
def verifier(http: httpx.AsyncClient) -> JwtVerifier:
    return dev_verifier(http)


class Client:
    """An MCP client's side of the dance: registration, PKCE, the approve form, the token call."""

    def __init__(self, http: httpx.AsyncClient, registration: dict[str, Any]) -> None:
        self.http = http
        self.registration = registration
        self.client_id: str = registration["client_id"]
        self.code_verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.code_verifier.encode()).digest()
        self.code_challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @classmethod
    async def register(cls, http: httpx.AsyncClient, **metadata: Any) -> Client:
        body = {
            "redirect_uris": [REDIRECT_URI],
            "client_name": "Test MCP client",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            **metadata,
        }
        response = await http.post("/oauth/v2/register", json=body)
        assert response.status_code == 201, response.text
        return cls(http, response.json())

    def authorization_params(self, **overrides: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "state": "state-123",
            "scope": "openid profile",
            "resource": f"{ISSUER_URL}/mcp",
        }
        return {name: value for name, value in {**params, **overrides}.items() if value}

    async def approve(
        self, tenant: str = "demo", sub: str = "demo-user", decision: str = "approve"
    ) -> dict[str, str]:
        form = {**self.authorization_params(), "tenant": tenant, "sub": sub, "decision": decision}
        response = await self.http.post("/oauth/v2/authorize", data=form)
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
        return {name: values[0] for name, values in parse_qs(location.query).items()}

    async def token(self, **form: str) -> httpx.Response:
        return await self.http.post("/oauth/v2/token", data={"client_id": self.client_id, **form})

    async def exchange(self, code: str, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.code_verifier,
        }
        return await self.token(**{**form, **overrides})


def oauth_error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error: str = response.json()["error"]
    return error


async def test_the_whole_flow_yields_a_token_the_server_accepts(
    http: httpx.AsyncClient, verifier: JwtVerifier
) -> None:
    client = await Client.register(http)
    page = await http.get("/oauth/v2/authorize", params=client.authorization_params())
    assert page.status_code == 200
    assert "Test MCP client" in page.text
    assert "<strong>demo-user</strong>" in page.text
    assert "<strong>demo</strong>" in page.text
    assert '<option value="demo-b">' in page.text

    redirect = await client.approve(tenant="demo-b", sub="alice")
    assert redirect["state"] == "state-123"
    assert redirect["iss"] == ISSUER_URL

    response = await client.exchange(redirect["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "openid profile"
    principal = await verifier.verify(tokens["access_token"])
    assert principal == Principal(issuer=ISSUER_URL, sub="alice", tenant="demo-b")


async def test_both_metadata_documents_and_the_keys_are_served(http: httpx.AsyncClient) -> None:
    openid = (await http.get("/.well-known/openid-configuration")).json()
    assert (await http.get("/.well-known/oauth-authorization-server")).json() == openid
    assert openid["registration_endpoint"] == f"{ISSUER_URL}/oauth/v2/register"
    keys = (await http.get("/oauth/v2/keys")).json()["keys"]
    assert [key["alg"] for key in keys] == ["RS256"]


async def test_a_wrong_code_verifier_is_an_invalid_grant(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    code = (await client.approve())["code"]
    assert (
        oauth_error(await client.exchange(code, code_verifier=secrets.token_urlsafe(48))) == "invalid_grant"
    )
    assert oauth_error(await client.exchange(code)) == "invalid_grant"  # the failed attempt used the code up


async def test_a_code_can_be_used_only_once(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    code = (await client.approve())["code"]
    assert (await client.exchange(code)).status_code == 200
    assert oauth_error(await client.exchange(code)) == "invalid_grant"


async def test_a_code_belongs_to_its_client(http: httpx.AsyncClient) -> None:
    owner = await Client.register(http)
    thief = await Client.register(http)
    code = (await owner.approve())["code"]
    thief.code_verifier = owner.code_verifier
    assert oauth_error(await thief.exchange(code)) == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(http: httpx.AsyncClient) -> None:
    client = await Client.register(http, redirect_uris=[REDIRECT_URI, "https://app.example.test/cb"])
    code = (await client.approve())["code"]
    response = await client.exchange(code, redirect_uri="https://app.example.test/cb")
    assert oauth_error(response) == "invalid_grant"


async def test_refresh_tokens_work_and_rotate(http: httpx.AsyncClient, verifier: JwtVerifier) -> None:
    client = await Client.register(http)
    first = (await client.exchange((await client.approve(tenant="demo-b"))["code"])).json()

    refreshed = await client.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await verifier.verify(second["access_token"])).tenant == "demo-b"

    reused = await client.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert oauth_error(reused) == "invalid_grant"


async def test_deny_sends_the_user_back_with_access_denied(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    redirect = await client.approve(decision="deny")
    assert redirect["error"] == "access_denied"
    assert redirect["state"] == "state-123"
    assert "code" not in redirect


async def test_an_unknown_client_gets_a_page_not_a_redirect(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    response = await http.get("/oauth/v2/authorize", params=client.authorization_params(client_id="nobody"))
    assert response.status_code == 400
    assert "register" in response.text


async def test_an_unregistered_redirect_uri_gets_a_page_not_a_redirect(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    params = client.authorization_params(redirect_uri="https://attacker.example.test/cb")
    response = await http.get("/oauth/v2/authorize", params=params)
    assert response.status_code == 400
    assert "attacker" not in response.headers.get("location", "")


@pytest.mark.parametrize(
    "overrides",
    [{"code_challenge": ""}, {"code_challenge_method": "plain"}, {"code_challenge_method": ""}],
)
async def test_pkce_s256_is_required(http: httpx.AsyncClient, overrides: dict[str, str]) -> None:
    client = await Client.register(http)
    response = await http.get("/oauth/v2/authorize", params=client.authorization_params(**overrides))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["state-123"]


async def test_an_unknown_tenant_cannot_be_approved(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    form = {**client.authorization_params(), "tenant": "someone-else", "sub": "x", "decision": "approve"}
    assert (await http.post("/oauth/v2/authorize", data=form)).status_code == 400


async def test_the_approve_page_escapes_the_client_name(http: httpx.AsyncClient) -> None:
    client = await Client.register(http, client_name="<script>alert(1)</script>")
    page = await http.get("/oauth/v2/authorize", params=client.authorization_params())
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "redirect_uris",
    [[], ["http://example.test/cb"], ["https://app.example.test/cb#fragment"], ["cursor://callback"], "x"],
)
async def test_registration_refuses_unsafe_redirect_uris(
    http: httpx.AsyncClient, redirect_uris: object
) -> None:
    response = await http.post("/oauth/v2/register", json={"redirect_uris": redirect_uris})
    assert oauth_error(response) == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "metadata",
    [
        {"grant_types": ["client_credentials"]},
        {"response_types": ["token"]},
        {"token_endpoint_auth_method": "private_key_jwt"},
    ],
)
async def test_registration_refuses_unsupported_metadata(
    http: httpx.AsyncClient, metadata: dict[str, Any]
) -> None:
    response = await http.post("/oauth/v2/register", json={"redirect_uris": [REDIRECT_URI], **metadata})
    assert oauth_error(response) == "invalid_client_metadata"


async def test_registration_refuses_a_body_that_is_not_an_object(http: httpx.AsyncClient) -> None:
    assert oauth_error(await http.post("/oauth/v2/register", content=b"[1]")) == "invalid_client_metadata"
    assert oauth_error(await http.post("/oauth/v2/register", content=b"{")) == "invalid_client_metadata"


async def test_a_confidential_client_must_present_its_secret(http: httpx.AsyncClient) -> None:
    client = await Client.register(http, token_endpoint_auth_method="client_secret_post")
    secret = client.registration["client_secret"]
    code = (await client.approve())["code"]
    assert oauth_error(await client.exchange(code, client_secret="wrong")) == "invalid_client"
    code = (await client.approve())["code"]
    assert (await client.exchange(code, client_secret=secret)).status_code == 200


async def test_a_confidential_client_may_use_basic_authentication(http: httpx.AsyncClient) -> None:
    client = await Client.register(http, token_endpoint_auth_method="client_secret_basic")
    code = (await client.approve())["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": client.code_verifier,
    }
    response = await http.post(
        "/oauth/v2/token", data=form, auth=(client.client_id, client.registration["client_secret"])
    )
    assert response.status_code == 200, response.text


async def test_an_unknown_client_is_an_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/v2/token", data={"grant_type": "authorization_code", "client_id": "nobody"}
    )
    assert oauth_error(response) == "invalid_client"


async def test_other_grant_types_are_unsupported(http: httpx.AsyncClient) -> None:
    client = await Client.register(http)
    assert oauth_error(await client.token(grant_type="password")) == "unsupported_grant_type"


def test_the_default_tenant_must_be_configured(tmp_path: Path) -> None:
    issuer = dev_issuer(tmp_path, ISSUER_URL)
    with pytest.raises(ValueError, match="default tenant"):
        dev_oauth_routes(issuer, audience=AUDIENCE, tenants=["acme"])
