"""What a summary adds up, per measure, as SQL grouped in the database.

- sales: SALESINVOICE and SALESCREDIT documents with IsSales, by dateInvoice; credit notes carry
  negative amounts, so they net (their quantities are subtracted).
- orderIntake: SALESORDER and SALESINVOICE documents with IsOrderIntake, by dateOrder.
- purchases: PURCHASEORDER documents by dateOrder that are active (IsPurchase) or on which goods
  were received (closed orders count; preliminary and void ones do not).

Amounts are ex VAT: document totals, or line sums when products are asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa

from tools import schema as s
from tools.line_months import EVERY_LINE, NO_PRODUCT
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
        # Any line of the order, also when its lines are summed: correlated to the order only.
        line = i.alias("ReceivedLine")
        received = (
            sa.select(line.c.Id)
            .where(line.c.OrderId == o.c.Id, s.inv_transactions.c.OrderItemId == line.c.Id)
            .offset(0)
            .correlate(o)
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
    if by_lines and _every_purchase_order(scope, only_groups):
        where = [o.c.Id.in_(_fenced(where)), *scope._dated(first, last)]
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


def _every_purchase_order(scope: Scope, only_groups: Sequence[Any] | None) -> bool:
    """Whether the lines of every purchase order of the range are summed; a vendor's, a
    product's or the top groups' lines are fewer and found through their own indexes."""
    return (
        scope.measure == "purchases"
        and scope.party_id is None
        and scope.product_id is None
        and only_groups is None
    )


def _fenced(where: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The ids of the orders of ``where``, found on their own first: OFFSET 0 keeps PostgreSQL
    from checking the receipts of every line of the range's orders of every type (1.1 million at
    1M orders) before their status; the orders' lines are joined to these alone."""
    return sa.select(o.c.Id).where(*where).offset(0).correlate(None)


def _among(group: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    present = [key for key in keys if key is not None]
    condition = group.in_(present)
    return sa.or_(condition, group.is_(None)) if len(present) < len(keys) else condition


m = s.order_item_months


def kept_by_month(scope: Scope, period: Period | None, group_by: GroupBy | None) -> bool:
    """Whether ``OrderItemMonth`` holds these figures for whole months: sales or order intake of
    every customer, per month, quarter or year (or none), in total or per product or currency."""
    return (
        scope.measure != "purchases"
        and scope.party_id is None
        and period in (None, "month", "quarter", "year")
        and group_by in (None, "product", "currency")
    )


def month_sums(
    scope: Scope,
    first: date,
    end: date,
    *,
    period: Period | None = None,
    dialect: str = "sqlite",
    group_by: GroupBy | None = None,
    only_groups: Sequence[Any] | None = None,
) -> sa.Select[Any]:
    """``aggregate(by_lines=True)`` over the whole months from ``first`` to before ``end`` (both
    firsts of a month), read from ``OrderItemMonth``: the same columns, the same figures."""
    keys: list[sa.ColumnElement[Any]] = []
    if period is not None:
        keys.append(start_in_sql(m.c.Month, period, dialect).label("Start"))
    where = [
        m.c.DateColumn == scope.date_column.name,
        m.c.Month >= first,
        m.c.Month < end,
        m.c.Documents != 0,  # a row whose lines all left
        scope._counted(m.c.OrderStatusId),
    ]
    if group_by == "product":
        keys.append(sa.func.nullif(m.c.ProductId, NO_PRODUCT).label("GroupKey"))
        where.append(m.c.ProductId != EVERY_LINE)
        if only_groups is not None:
            where.append(m.c.ProductId.in_([NO_PRODUCT if key is None else key for key in only_groups]))
    elif group_by == "currency":
        keys.append(m.c.CurrencyId.label("GroupKey"))
        if only_groups is not None:
            where.append(m.c.CurrencyId.in_(only_groups))
    if scope.product_id is not None:
        where.append(m.c.ProductId == scope.product_id)
    elif group_by != "product":
        where.append(m.c.ProductId == EVERY_LINE)
    keys.append(m.c.CurrencyId)
    credit = m.c.OrderStatusId.in_(status_ids(SALESCREDIT))
    figures = [
        sa.func.sum(m.c.Amount).label("Amount"),
        sa.func.sum(sa.case((credit, -m.c.Quantity), else_=m.c.Quantity)).label("Quantity"),
        sa.func.sum(m.c.Documents).label("Documents"),
    ]
    return sa.select(*keys, *figures).where(*where).group_by(*keys)


def top_groups(
    parts: Sequence[sa.Select[Any]],
    rates: Mapping[int, Decimal],
    *,
    by_quantity: bool,
    top: int,
    dialect: str,
) -> sa.Select[Any]:
    """The rows of ``parts`` (sums per group and currency, as ``aggregate`` and ``month_sums``
    give them) of the ``top`` groups only, ranked in the database as the summary ranks them: by
    home-currency value (each currency's sum in cents converted at ``rates`` and rounded half up
    to the cent) or by quantity, largest first, then by group id with no group as -1. Each row
    also carries ``GroupCount``, the number of groups in all the rows."""
    rows = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).cte("summed")
    key = sa.func.coalesce(rows.c.GroupKey, -1)
    per_currency = (
        sa.select(
            key.label("k"),
            rows.c.CurrencyId,
            sa.func.sum(_scaled(rows.c.Amount, 100, dialect)).label("Amount"),
            sa.func.sum(_scaled(rows.c.Quantity, 1000, dialect)).label("Quantity"),
        )
        .group_by(key, rows.c.CurrencyId)
        .subquery()
    )
    home = _in_home(per_currency.c.Amount, per_currency.c.CurrencyId, rates, dialect)
    size = per_currency.c.Quantity if by_quantity else home
    per_group = (
        sa.select(per_currency.c.k, sa.func.sum(size).label("Size")).group_by(per_currency.c.k).cte("ranked")
    )
    ranked = sa.select(per_group.c.k).order_by(per_group.c.Size.desc(), per_group.c.k).limit(top)
    count = sa.select(sa.func.count()).select_from(per_group).scalar_subquery()
    return sa.select(*rows.c, count.label("GroupCount")).where(key.in_(ranked))


def _scaled(value: sa.ColumnElement[Any], scale: int, dialect: str) -> sa.ColumnElement[Any]:
    """Exact on PostgreSQL already (numeric); on SQLite a sum of REALs, made whole cents (or
    thousandths) as the view rounds each row's sum, so that adding them up stays exact."""
    if dialect == "postgresql":
        return sa.func.coalesce(value, 0)
    return sa.cast(sa.func.round(sa.func.coalesce(value, 0) * scale), sa.Integer)


def _in_home(
    amount: sa.ColumnElement[Any], currency: sa.ColumnElement[Any], rates: Mapping[int, Decimal], dialect: str
) -> sa.ColumnElement[Any]:
    """``tools.home_currency.to_home`` in SQL: the amount times its currency's rate (six
    decimals), rounded half up (away from zero) to the cent. On SQLite the amount is in cents and
    the arithmetic stays in integers: whole millions of cents times the rate in millionths, plus
    the rest times the rate rounded to a cent."""
    if dialect == "postgresql":
        rate = sa.case({cid: sa.literal(value, s.Rate) for cid, value in rates.items()}, value=currency)
        return sa.func.round(amount * rate, 2)
    micro = sa.case({cid: int(value.scaleb(6)) for cid, value in rates.items()}, value=currency)
    rest = (amount % _MILLION) * micro
    rounded = sa.case(
        (rest >= 0, (rest + _MILLION // 2) // _MILLION), else_=(rest - _MILLION // 2) // _MILLION
    )
    return (amount // _MILLION) * micro + rounded


_MILLION = 1_000_000
