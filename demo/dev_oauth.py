"""The demo's development authorization server, so an MCP client can do the OAuth dance locally.

Authorization code + PKCE (S256 only), RFC 7591 dynamic client registration, refresh-token
rotation, RFC 8414 metadata. State lives in memory: a restart forgets clients, codes and refresh
tokens. It authenticates nobody - whoever reaches the approve page picks any configured tenant
and user - so only the demo may serve it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from demo.dev_clients import ClientRegistry, OAuthError, RegisteredClient
from demo.dev_issuer import DevIssuer
from demo.dev_pages import approve_page, error_page

CODE_TTL_SECONDS = 300
REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_SUB = "demo-user"

_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_HEADERS = {**_NO_STORE, "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def dev_oauth_routes(
    issuer: DevIssuer,
    *,
    audience: str,
    tenants: Sequence[str],
    default_tenant: str = "demo",
    access_token_ttl_seconds: int = 3600,
) -> list[Route]:
    if default_tenant not in tenants:
        raise ValueError(f"default tenant {default_tenant!r} is not one of the tenants {list(tenants)}")
    server = _DevAuthorizationServer(
        issuer, audience, tuple(tenants), default_tenant, access_token_ttl_seconds
    )
    return [
        Route("/.well-known/openid-configuration", server.metadata, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", server.metadata, methods=["GET"]),
        Route("/oauth/v2/keys", server.keys, methods=["GET"]),
        Route("/oauth/v2/register", server.register, methods=["POST"]),
        Route("/oauth/v2/authorize", server.authorize_page, methods=["GET"]),
        Route("/oauth/v2/authorize", server.authorize_decision, methods=["POST"]),
        Route("/oauth/v2/token", server.token, methods=["POST"]),
    ]


@dataclass(frozen=True)
class _AuthorizationRequest:
    client: RegisteredClient
    redirect_uri: str
    state: str | None
    scope: str
    code_challenge: str

    def fields(self) -> dict[str, str]:
        """The request as form fields, carried through the approve page."""
        fields = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        return fields if self.state is None else {**fields, "state": self.state}


@dataclass(frozen=True)
class _Grant:
    """What a code or a refresh token stands for."""

    client_id: str
    tenant: str
    sub: str
    scope: str
    expires_at: float
    redirect_uri: str = ""
    code_challenge: str = ""


class _PageError(Exception):
    """No trustworthy redirect_uri yet: answered with a 400 page, never a redirect."""


class _RedirectError(Exception):
    """An authorization error reported back to the client's registered redirect_uri."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(description)
        self.redirect_uri, self.state, self.error = redirect_uri, state, error


class _DevAuthorizationServer:
    def __init__(
        self, issuer: DevIssuer, audience: str, tenants: tuple[str, ...], default_tenant: str, ttl: int
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._tenants = tenants
        self._default_tenant = default_tenant
        self._access_token_ttl = ttl
        self._clients = ClientRegistry()
        self._codes: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(self._issuer.openid_configuration())

    async def keys(self, request: Request) -> Response:
        return JSONResponse(self._issuer.jwks())

    async def register(self, request: Request) -> Response:
        try:
            metadata = await request.json()
        except ValueError:
            metadata = None
        try:
            information = self._clients.register(metadata)
        except OAuthError as exc:
            return _oauth_error(exc)
        return JSONResponse(information, status_code=201, headers=_NO_STORE)

    async def authorize_page(self, request: Request) -> Response:
        try:
            authorization = self._authorization_request(request.query_params)
        except _PageError as exc:
            return _error_page(str(exc))
        except _RedirectError as exc:
            return _redirect_error(exc)
        return HTMLResponse(self._approve_page(authorization), headers=_PAGE_HEADERS)

    async def authorize_decision(self, request: Request) -> Response:
        params = _strings(await request.form())
        try:
            authorization = self._authorization_request(params)
            if params.get("decision") != "approve":
                raise _RedirectError(
                    authorization.redirect_uri, authorization.state, "access_denied", "the user denied access"
                )
            tenant, sub = self._chosen_identity(params)
        except _PageError as exc:
            return _error_page(str(exc))
        except _RedirectError as exc:
            return _redirect_error(exc)
        code = self._issue_code(authorization, tenant, sub)
        return _redirect(
            authorization.redirect_uri, code=code, state=authorization.state, iss=self._issuer.issuer_url
        )

    async def token(self, request: Request) -> Response:
        params = _strings(await request.form())
        try:
            client_id, secret = _basic_credentials(request) or (
                params.get("client_id"),
                params.get("client_secret"),
            )
            client = self._clients.authenticate(client_id, secret)
            grant = self._redeem(client, params)
        except OAuthError as exc:
            return _oauth_error(exc)
        return JSONResponse(self._tokens(grant), headers=_NO_STORE)

    def _authorization_request(self, params: Mapping[str, str]) -> _AuthorizationRequest:
        client = self._clients.get(params.get("client_id"))
        if client is None:
            raise _PageError("Unknown client_id: the client must register first.")
        redirect_uri = client.redirect_uri_for(params.get("redirect_uri"))
        if redirect_uri is None:
            raise _PageError("The redirect_uri is not registered for this client.")
        state = params.get("state")
        if params.get("response_type") != "code":
            raise _RedirectError(redirect_uri, state, "unsupported_response_type", "use response_type=code")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not _CODE_CHALLENGE.fullmatch(challenge):
            raise _RedirectError(redirect_uri, state, "invalid_request", "PKCE with S256 is required")
        return _AuthorizationRequest(client, redirect_uri, state, params.get("scope") or "openid", challenge)

    def _approve_page(self, authorization: _AuthorizationRequest) -> str:
        return approve_page(
            client_name=authorization.client.name,
            redirect_uri=authorization.redirect_uri,
            scope=authorization.scope,
            request_fields=authorization.fields(),
            tenants=self._tenants,
            tenant=self._default_tenant,
            sub=DEFAULT_SUB,
        )

    def _chosen_identity(self, params: Mapping[str, str]) -> tuple[str, str]:
        tenant = params.get("tenant", "")
        sub = params.get("sub", "").strip()
        if tenant not in self._tenants:
            raise _PageError(f"Unknown tenant {tenant!r}.")
        if not sub or len(sub) > 200:
            raise _PageError("The user name must have 1 to 200 characters.")
        return tenant, sub

    def _issue_code(self, authorization: _AuthorizationRequest, tenant: str, sub: str) -> str:
        code = secrets.token_urlsafe(32)
        _forget_expired(self._codes)
        self._codes[code] = _Grant(
            client_id=authorization.client.client_id,
            tenant=tenant,
            sub=sub,
            scope=authorization.scope,
            expires_at=time.monotonic() + CODE_TTL_SECONDS,
            redirect_uri=authorization.redirect_uri,
            code_challenge=authorization.code_challenge,
        )
        return code

    def _redeem(self, client: RegisteredClient, params: Mapping[str, str]) -> _Grant:
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(client, params)
        if grant_type == "refresh_token":
            return self._redeem_refresh_token(client, params)
        raise OAuthError("unsupported_grant_type", "use authorization_code or refresh_token")

    def _redeem_code(self, client: RegisteredClient, params: Mapping[str, str]) -> _Grant:
        grant = self._codes.pop(params.get("code", ""), None)  # one use, even when a check below fails
        if grant is None or grant.expires_at < time.monotonic() or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the authorization code is invalid, expired or already used")
        if params.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        if not _pkce_matches(params.get("code_verifier", ""), grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        return grant

    def _redeem_refresh_token(self, client: RegisteredClient, params: Mapping[str, str]) -> _Grant:
        grant = self._refresh_tokens.pop(params.get("refresh_token", ""), None)  # rotation: one use
        if grant is None or grant.expires_at < time.monotonic() or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the refresh token is invalid, expired or already used")
        return grant

    def _tokens(self, grant: _Grant) -> dict[str, Any]:
        refresh_token = secrets.token_urlsafe(32)
        _forget_expired(self._refresh_tokens)
        self._refresh_tokens[refresh_token] = replace(
            grant, expires_at=time.monotonic() + REFRESH_TOKEN_TTL_SECONDS, redirect_uri="", code_challenge=""
        )
        access_token = self._issuer.mint(
            tenant=grant.tenant,
            sub=grant.sub,
            ttl_seconds=self._access_token_ttl,
            audience=self._audience,
            scope=grant.scope,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self._access_token_ttl,
            "refresh_token": refresh_token,
            "scope": grant.scope,
        }


def _pkce_matches(verifier: str, challenge: str) -> bool:
    if not _CODE_VERIFIER.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"="), challenge.encode("ascii"))


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials") from exc
    return unquote_plus(client_id), unquote_plus(secret)  # RFC 6749 section 2.3.1


def _strings(form: Mapping[str, Any]) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _forget_expired(grants: dict[str, _Grant]) -> None:
    now = time.monotonic()
    for key in [key for key, grant in grants.items() if grant.expires_at < now]:
        del grants[key]


def _redirect(uri: str, **params: str | None) -> Response:
    parts = urlsplit(uri)
    added = [(name, value) for name, value in params.items() if value is not None]
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *added])
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=_NO_STORE)


def _redirect_error(exc: _RedirectError) -> Response:
    return _redirect(exc.redirect_uri, error=exc.error, error_description=str(exc), state=exc.state)


def _oauth_error(exc: OAuthError) -> Response:
    body = {"error": exc.error, "error_description": str(exc)}
    return JSONResponse(body, status_code=400, headers=_NO_STORE)


def _error_page(message: str) -> Response:
    return HTMLResponse(error_page(message), status_code=400, headers=_PAGE_HEADERS)
