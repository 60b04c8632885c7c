"""Whether a tenant's database has a table that newer features added (an ERP database read
directly, or one made before them, may not). The answer is remembered per tenant for the app's
lifetime once it is yes, so the check costs one schema query per tenant, not one per call."""

from __future__ import annotations

import sqlalchemy as sa

from tools.view import ViewContext


def has_table(conn: sa.Connection, ctx: ViewContext, table: sa.Table) -> bool:
    known: set[tuple[str, str]] = ctx.state.setdefault("present_tables", set())
    key = (ctx.tenant, table.name)
    if key not in known and sa.inspect(conn).has_table(table.name):
        known.add(key)
    return key in known
