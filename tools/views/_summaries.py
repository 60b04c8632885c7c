"""What a summary adds up, per measure, as SQL grouped in the database.

- sales: SALESINVOICE and SALESCREDIT documents with IsSales, by dateInvoice; credit notes carry
  negative amounts, so they net (their quantities are subtracted).
- orderIntake: SALESORDER and SALESINVOICE documents with IsOrderIntake, by dateOrder.
- purchases: PURCHASEORDER documents by dateOrder that are active (IsPurchase) or on which goods
  were received (closed orders count; preliminary and void ones do not).

Amounts are ex VAT: document totals, or line sums when products are asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from tools import schema as s
from tools.periods import Period, start_in_sql
from tools.reference import PURCHASEORDER, SALESCREDIT, SALESINVOICE, SALESORDER
from tools.statuses import status_ids
from tools.wire import midnight

Measure = Literal["sales", "orderIntake", "purchases"]
GroupBy = Literal["customer", "vendor", "product", "currency"]
o, i = s.orders, s.order_items


@dataclass(frozen=True)
class Scope:
    """Which documents a summary adds up, and the filters the caller gave."""

    measure: Measure
    party_id: int | None = None
    product_id: int | None = None

    @property
    def date_column(self) -> sa.ColumnElement[Any]:
        return o.c.DateInvoice if self.measure == "sales" else o.c.DateOrder

    def documents(self, first: date, last: date, dialect: str) -> list[sa.ColumnElement[bool]]:
        # On SQLite the status as an expression no index matches: the date range leads.
        status = o.c.OrderStatusId + 0 if dialect == "sqlite" else o.c.OrderStatusId
        where = [self._counted(status), *self._dated(first, last)]
        if self.party_id is not None:
            where.append(o.c.CompanyId == self.party_id)
        return where

    def _dated(self, first: date, last: date) -> list[sa.ColumnElement[bool]]:
        column = self.date_column
        return [column >= midnight(first), column < midnight(last + timedelta(days=1))]

    def _counted(self, status: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        if self.measure == "sales":
            return status.in_(status_ids(SALESINVOICE, SALESCREDIT, flag="IsSales"))
        if self.measure == "orderIntake":
            return status.in_(status_ids(SALESORDER, SALESINVOICE, flag="IsOrderIntake"))
        # OFFSET 0 keeps PostgreSQL from hashing every receipt of the tenant up front: the
        # check runs per purchase order of the range, through the line and receipt indexes.
        received = (
            sa.select(i.c.Id)
            .where(i.c.OrderId == o.c.Id, s.inv_transactions.c.OrderItemId == i.c.Id)
            .offset(0)
            .exists()
        )
        return sa.and_(
            status.in_(status_ids(PURCHASEORDER)),
            sa.or_(o.c.OrderStatusId.in_(status_ids(PURCHASEORDER, flag="IsPurchase")), received),
        )


def _signed_qty() -> sa.ColumnElement[Any]:
    """Line quantity, negative on credit notes (their prices are negative, quantities not)."""
    credit = o.c.OrderStatusId.in_(status_ids(SALESCREDIT))
    return sa.case((credit, -i.c.QtyOrdered), else_=i.c.QtyOrdered)


def group_column(group_by: GroupBy | None) -> sa.ColumnElement[Any] | None:
    if group_by is None:
        return None
    if group_by == "product":
        return i.c.ProductId
    if group_by == "currency":
        return o.c.CurrencyId
    return o.c.CompanyId


def aggregate(
    scope: Scope,
    first: date,
    last: date,
    *,
    by_lines: bool,
    period: Period | None = None,
    dialect: str = "sqlite",
    group_by: GroupBy | None = None,
    only_groups: Sequence[Any] | None = None,
) -> sa.Select[Any]:
    """Sums per (period start, group, currency): amount, quantity (lines only), documents."""
    keys: list[sa.ColumnElement[Any]] = []
    if period is not None:
        keys.append(start_in_sql(scope.date_column, period, dialect).label("Start"))
    group = group_column(group_by)
    if group is not None:
        keys.append(group.label("GroupKey"))
    keys.append(o.c.CurrencyId)
    where = scope.documents(first, last, dialect)
    if by_lines:
        figures = [
            sa.func.sum(i.c.SumExVat).label("Amount"),
            sa.func.sum(_signed_qty()).label("Quantity"),
            sa.func.count(sa.distinct(o.c.Id)).label("Documents"),
        ]
        source: sa.FromClause = o.join(i, i.c.OrderId == o.c.Id)
        if scope.product_id is not None:
            where.append(i.c.ProductId == scope.product_id)
    else:
        figures = [sa.func.sum(o.c.TotalExVat).label("Amount"), sa.func.count().label("Documents")]
        source = o
    if group is not None and only_groups is not None:
        where.append(_among(group, only_groups))
    return sa.select(*keys, *figures).select_from(source).where(*where).group_by(*keys)


def _among(group: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    present = [key for key in keys if key is not None]
    condition = group.in_(present)
    return sa.or_(condition, group.is_(None)) if len(present) < len(keys) else condition
