"""Access tokens for a source: a base class with one method to override, ``fetch_token``.

``TokenProvider`` is an ``httpx.Auth``: it puts ``Authorization: Bearer`` on every request,
fetches a token when it has none or the one it has expires within ``leeway`` seconds, and on a
401 fetches a fresh one and sends the request once more (a token can expire in flight). A 401
with a fresh token is ``AuthenticationFailed``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from connectors.core.errors import AuthenticationFailed


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float  # time.time() seconds


class TokenProvider(httpx.Auth):
    leeway = 30.0

    def __init__(self) -> None:
        self._token: Token | None = None
        self._lock = threading.Lock()

    def fetch_token(self) -> Token:
        """Ask the source's token endpoint for a new access token."""
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._renewed(token).access_token}"
            response = yield request
            if response.status_code == 401:
                raise AuthenticationFailed(f"{request.url.host} refused a freshly issued access token")

    def _current(self) -> Token:
        with self._lock:
            if self._token is None or self._token.expires_at - self.leeway <= time.time():
                self._token = self.fetch_token()
            return self._token

    def _renewed(self, stale: Token) -> Token:
        with self._lock:
            if self._token is None or self._token is stale:
                self._token = self.fetch_token()
            return self._token
