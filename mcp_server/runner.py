"""Runs a view for a caller: the tenant's read-only connection, off the event loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import anyio.to_thread

from auth.principal import Principal
from tools.capabilities import require_filled
from tools.db import TenantDatabases
from tools.errors import Unauthorized
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
    ) -> None:
        self.databases = databases
        self.today = today
        self.tenant_options = tenant_options or {}
        self.state: dict[str, Any] = {}

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
        return await anyio.to_thread.run_sync(self._run, view, ctx, params)

    def _run(self, view: View, ctx: ViewContext, params: Params) -> Any:
        if view.writes:
            with self.databases.writing(ctx.tenant) as conn:
                result = view.query(conn, ctx, params)
            for committed in ctx.after_commit:
                committed()
            return result
        with self.databases.reading(ctx.tenant) as conn:
            return view.query(conn, ctx, params)
