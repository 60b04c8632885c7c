"""The request budget of one source for one tenant, shared by every worker on one Redis.

``limits``' moving window admits at most ``rate`` requests in *any* window (Fortnox: 25 in any
5 seconds), with no burst at a window edge. The key is (source, tenant): Fortnox counts per
client id and tenant, so two tenants never share a budget and two workers of one tenant do.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connectors.core.errors import ConnectorError, RateLimited


class SourceRateLimiter:
    def __init__(
        self,
        rate: str,
        storage_uri: str = "memory://",
        *,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._item = parse(rate)
        options = {} if storage_uri.startswith("memory") else {"key_prefix": "asstio-source"}
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._max_wait = max_wait
        self._sleep = sleep
        self.waited = 0.0

    def acquire(self, source: str, tenant: str) -> None:
        """Block until one request may go out; raise ``RateLimited`` after ``max_wait`` seconds."""
        deadline = time.monotonic() + self._max_wait
        while not self._hit(source, tenant):
            reset_at = self._strategy.get_window_stats(self._item, source, tenant).reset_time
            pause = min(max(reset_at - time.time(), 0.005), 1.0)
            if time.monotonic() + pause > deadline:
                raise RateLimited(
                    f"{source}: no request budget for tenant {tenant} within {self._max_wait:g} s"
                )
            self._sleep(pause)
            self.waited += pause

    def _hit(self, source: str, tenant: str) -> bool:
        try:
            return bool(self._strategy.hit(self._item, source, tenant))
        except StorageError as exc:
            raise ConnectorError(f"the rate-limit storage is unavailable: {exc}") from exc
