"""Fortnox access tokens: the client-credentials flow of a service account, or a refresh token.

Client credentials (client id and secret, plus the Fortnox ``TenantId`` header) need nothing
stored. A refresh token of the authorization-code flow is single use: each refresh returns the
next one, which is stored encrypted (``CredentialStore``) and committed before the new access
token is used, so a crash can at worst lose an access token, never the refresh token chain.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from connectors.core.credentials import CredentialStore
from connectors.core.errors import AuthenticationFailed, SourceRejected, SourceUnavailable
from connectors.core.tokens import Token, TokenProvider

TOKEN_URL = "https://apps.fortnox.se/oauth-v1/token"
REFRESH_TOKEN = "refresh_token"


class _FortnoxTokens(TokenProvider):
    def __init__(self, token_url: str, client_id: str, client_secret: str, *, timeout: float = 30.0) -> None:
        super().__init__()
        self._url = token_url
        self._http = httpx.Client(auth=(client_id, client_secret), timeout=timeout)

    def _post(self, form: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self._http.post(self._url, data=form, headers=headers)
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"fortnox token endpoint {self._url} is unreachable: {exc!r}") from exc
        if response.status_code in (400, 401, 403):
            error = _oauth_error(response)
            raise AuthenticationFailed(f"fortnox refused the credentials: {error}")
        if not response.is_success:
            raise SourceUnavailable(f"fortnox token endpoint answered HTTP {response.status_code}")
        body: dict[str, Any] = response.json()
        if not body.get("access_token"):
            raise SourceRejected("fortnox token endpoint answered without an access_token")
        return body

    @staticmethod
    def _parsed(body: dict[str, Any]) -> Token:
        return Token(str(body["access_token"]), time.time() + float(body.get("expires_in", 3600)))


class ClientCredentials(_FortnoxTokens):
    """A Fortnox service account: client id and secret, for one Fortnox tenant id."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, tenant_id: str) -> None:
        super().__init__(token_url, client_id, client_secret)
        self._tenant_id = tenant_id

    def fetch_token(self) -> Token:
        return self._parsed(self._post({"grant_type": "client_credentials"}, {"TenantId": self._tenant_id}))


class RotatingRefreshToken(_FortnoxTokens):
    """The authorization-code flow's refresh token, rotated on every use and stored encrypted."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, store: CredentialStore) -> None:
        super().__init__(token_url, client_id, client_secret)
        self._store = store

    def fetch_token(self) -> Token:
        current = self._store.read(REFRESH_TOKEN)
        if current is None:
            raise AuthenticationFailed("no fortnox refresh token stored: set the refresh_token secret once")
        body = self._post({"grant_type": "refresh_token", "refresh_token": current})
        following = body.get("refresh_token")
        if following and not self._store.replace(REFRESH_TOKEN, current, str(following)):
            raise AuthenticationFailed("the fortnox refresh token was rotated by another worker meanwhile")
        return self._parsed(body)


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or f"HTTP {response.status_code}")
    return f"HTTP {response.status_code}"
