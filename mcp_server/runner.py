"""Runs a view for a caller: the tenant's read-only connection, off the event loop.

Every wait is bounded: each tenant has threads of its own (``TenantDatabases.threads``: its
connection pool's size on PostgreSQL, two on SQLite), so a tenant whose database stalls can
hold only its own; and a request that has no answer within ``deadline_seconds`` is a 503 (its
thread is abandoned and ends when the driver's own timeouts, or the database, let it go).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from auth.principal import Principal
from tools.capabilities import require_filled
from tools.db import TenantDatabases
from tools.errors import ServiceUnavailable, Unauthorized
from tools.view import View, ViewContext
from tools.wire import Params

# Set by the authentication middleware for the request being served (both doors).
current_principal: ContextVar[Principal | None] = ContextVar("current_principal", default=None)


def utc_today() -> date:
    return datetime.now(UTC).date()


class ViewRunner:
    def __init__(
        self,
        databases: TenantDatabases,
        today: Callable[[], date] = utc_today,
        tenant_options: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        deadline_seconds: float = 12.0,
    ) -> None:
        self.databases = databases
        self.today = today
        self.tenant_options = tenant_options or {}
        self.deadline_seconds = deadline_seconds
        self.state: dict[str, Any] = {}
        self._threads: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def threads(self, tenant: str) -> ThreadPoolExecutor:
        """The tenant's threads (``TenantDatabases.threads`` of them), made on first use."""
        with self._lock:
            if tenant not in self._threads:
                self._threads[tenant] = ThreadPoolExecutor(
                    self.databases.threads(tenant), thread_name_prefix=f"tenant-{tenant[:40]}"
                )
            return self._threads[tenant]

    async def in_tenant_thread(self, tenant: str, work: Callable[[], Any], deadline: float) -> Any:
        """``work()`` on one of the tenant's threads, with the caller's context (its traceId and
        principal); a 503 when it has not ended by ``deadline`` (the work is left to end on its
        own). Straight on asyncio's executor: anyio's thread hop (its limiter, cancel scope and
        backend lookups) cost more than the hop itself."""
        future = asyncio.get_running_loop().run_in_executor(
            self.threads(tenant), contextvars.copy_context().run, work
        )
        try:
            return await asyncio.wait_for(future, deadline)
        except TimeoutError:
            raise ServiceUnavailable(
                f"The database of tenant '{tenant}' did not answer within {deadline:g} s"
            ) from None

    def close(self) -> None:
        """Let the tenants' threads end once their work has (none is waited for)."""
        with self._lock:
            for threads in self._threads.values():
                threads.shutdown(wait=False, cancel_futures=True)
            self._threads.clear()

    def context(self, principal: Principal) -> ViewContext:
        return ViewContext(
            tenant=principal.tenant,
            sub=principal.sub,
            today=self.today(),
            options=self.tenant_options.get(principal.tenant, {}),
            state=self.state,
        )

    async def run(self, view: View, params: Params) -> Any:
        principal = current_principal.get()
        if principal is None:
            raise Unauthorized("Missing bearer token")
        ctx = self.context(principal)
        require_filled(ctx.options, view.name, view.tool, params)
        work = functools.partial(self._run, view, ctx, params)
        return await self.in_tenant_thread(ctx.tenant, work, self.deadline_seconds)

    def _run(self, view: View, ctx: ViewContext, params: Params) -> Any:
        if view.writes:
            with self.databases.writing(ctx.tenant) as conn:
                result = view.query(conn, ctx, params)
            for committed in ctx.after_commit:
                committed()
            return result
        return self.databases.read(ctx.tenant, lambda conn: view.query(conn, ctx, params))
