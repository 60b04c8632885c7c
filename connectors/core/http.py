"""The HTTP client every connector uses: httpx, the source's rate limit, retries, one error tree.

Each request first takes a slot from the (source, tenant) budget, then goes out. A transport
error, a 429 or a 5xx is retried with exponential backoff and jitter (``tenacity``), waiting at
least the server's ``Retry-After``; after ``attempts`` tries the last error is raised. Other
statuses become the errors of ``connectors.core.errors`` at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from connectors.core.errors import (
    AuthenticationFailed,
    MissingScope,
    RateLimited,
    SourceNotFound,
    SourceRejected,
    SourceUnavailable,
)
from connectors.core.limiter import SourceRateLimiter

ErrorMessage = Callable[[httpx.Response], str]


class _RetryAfter(wait_base):
    """Backoff with jitter, but never shorter than what the server asked for."""

    def __init__(self, backoff: wait_base, cap: float) -> None:
        self._backoff = backoff
        self._cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        asked = getattr(error, "retry_after", None) or 0.0
        return min(max(self._backoff(retry_state), asked), self._cap)


class SourceClient:
    """GET JSON from one source for one tenant; counts what it did in ``requests``/``retries``."""

    def __init__(
        self,
        base_url: str,
        *,
        source: str,
        tenant: str,
        limiter: SourceRateLimiter,
        auth: httpx.Auth | None = None,
        error_message: ErrorMessage | None = None,
        attempts: int = 6,
        timeout: float = 30.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source, self.tenant = source, tenant
        self._http = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._limiter = limiter
        self._message = error_message or (lambda response: response.reason_phrase)
        self._retrying = Retrying(
            retry=retry_if_exception_type(SourceUnavailable),
            wait=_RetryAfter(wait_exponential_jitter(multiplier=0.5, max=max_backoff), max_backoff),
            stop=stop_after_attempt(attempts),
            sleep=sleep,
            reraise=True,
        )
        self.requests = 0
        self.retries = 0
        self.server_time: float | None = None  # the source's clock (Date header) at the last answer

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        self.retries -= 1
        for attempt in self._retrying:
            with attempt:
                self.retries += 1
                return self._get_once(path, params)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _get_once(self, path: str, params: Mapping[str, Any] | None) -> Any:
        self._limiter.acquire(self.source, self.tenant)
        self.requests += 1
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise SourceUnavailable(
                f"{self.source} is unreachable at {self._http.base_url}: {exc!r}"
            ) from exc
        self._note_server_time(response)
        if response.is_success:
            return response.json()
        raise self._error(path, response)

    def _error(self, path: str, response: httpx.Response) -> Exception:
        status, what = response.status_code, f"{self.source} {path}: {self._message(response)}"
        if status == 429:
            return RateLimited(f"{what} (rate limited)", retry_after=_retry_after(response))
        if status >= 500:
            return SourceUnavailable(f"{what} (HTTP {status})", retry_after=_retry_after(response))
        if status == 401:
            return AuthenticationFailed(f"{what} (check the credentials)")
        if status == 403:
            return MissingScope(f"{what} (the integration lacks the scope or licence for this resource)")
        if status == 404:
            return SourceNotFound(what)
        return SourceRejected(f"{what} (HTTP {status})")

    def _note_server_time(self, response: httpx.Response) -> None:
        if date := response.headers.get("Date"):
            try:
                self.server_time = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                self.server_time = None

    def close(self) -> None:
        self._http.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
