"""Asperion access tokens: the OAuth 2.0 authorization-code flow's refresh token, single use,
rotated on every refresh and stored encrypted (``CredentialStore``) before the new access token
is used. Every request also names the administration: Asperion's endpoint list writes the header
``X-TenantId``, its REST API description ``X-Tenant-Id``; both are sent with the same value.
The endpoint list leaves OAuth to that description, which is not available offline: the token
endpoint (``TOKEN_URL``, the ``token_url`` option) and the answer's ``access_token``,
``refresh_token`` and ``expires_in`` are the OAuth 2.0 standard's (RFC 6749), not Asperion's words.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx

from connectors.core.credentials import CredentialStore
from connectors.core.errors import AuthenticationFailed, SourceRejected, SourceUnavailable
from connectors.core.tokens import Token, TokenProvider

TOKEN_URL = "https://identity.asperion.nl/connect/token"
REFRESH_TOKEN = "refresh_token"
TENANT_HEADERS = ("X-Tenant-Id", "X-TenantId")


class AsperionTokens(TokenProvider):
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        store: CredentialStore,
        administration: str,
        *,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self._url, self._client_id, self._client_secret = token_url, client_id, client_secret
        self._store, self._administration = store, administration
        self._http = httpx.Client(timeout=timeout)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        for header in TENANT_HEADERS:
            request.headers[header] = self._administration
        yield from super().auth_flow(request)

    def fetch_token(self) -> Token:
        current = self._store.read(REFRESH_TOKEN)
        if current is None:
            raise AuthenticationFailed("no Asperion refresh token stored: set the refresh_token secret once")
        form = {"grant_type": "refresh_token", "refresh_token": current, "client_id": self._client_id}
        if self._client_secret:
            form["client_secret"] = self._client_secret
        body = self._post(form)
        following = body.get("refresh_token")
        if following and not self._store.replace(REFRESH_TOKEN, current, str(following)):
            raise AuthenticationFailed("the Asperion refresh token was rotated by another worker meanwhile")
        return Token(str(body["access_token"]), time.time() + float(body.get("expires_in", 3600)))

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._http.post(self._url, data=form)
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"Asperion's token endpoint {self._url} is unreachable: {exc!r}") from exc
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(
                f"Asperion refused the refresh token (HTTP {response.status_code}): authorize again"
            )
        if not response.is_success:
            raise SourceUnavailable(f"Asperion's token endpoint answered HTTP {response.status_code}")
        body: dict[str, Any] = response.json()
        if not body.get("access_token"):
            raise SourceRejected("Asperion's token endpoint answered without an access_token")
        return body

    def close(self) -> None:
        self._http.close()
