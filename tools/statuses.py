"""Which statuses count as what: selections by status type and reporting flag, never by id."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from tools.schema import order_status_types as ost
from tools.schema import order_statuses as os_

Flag = Literal["IsOrderIntake", "IsSales", "IsPurchase"]


def status_ids(*types: str, flag: Flag | None = None) -> sa.Select[Any]:
    """Ids of the statuses of ``types`` (SystemName), optionally only those with ``flag`` set."""
    stmt = sa.select(os_.c.Id).join(ost, ost.c.Id == os_.c.OrderStatusTypeId)
    stmt = stmt.where(ost.c.SystemName.in_(types))
    if flag is not None:
        stmt = stmt.where(os_.c[flag].is_(True))
    return stmt
