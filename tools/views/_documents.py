"""What the document header views (sales orders, sales invoices, purchase orders) share.

All three read rows of ``Orders``: which rows is decided by status type and reporting flag
(``statusKind``) or one pinned ``statusId``; every figure a row carries is computed in the page's
one statement by correlated subqueries keyed by the order id, never by a query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field, PlainSerializer, WithJsonSchema

from tools import schema as s
from tools import search
from tools.paging import PageRequest, SortKey
from tools.statuses import Flag, status_ids
from tools.text import as_int, contains
from tools.wire import Params, to_db_datetime

o = s.orders
# The header's lookups are aliases, so the filters' subqueries on the same tables never
# correlate to them.
party = s.companies.alias("party")
status = s.order_statuses.alias("status")
status_type = s.order_status_types.alias("status_type")
currency = s.currencies.alias("currency")

MAX_PAGE_SIZE = 100
FEW_PARTIES = 50
CENTS = sa.Numeric(18, 2)
QTY = sa.Numeric(18, 3)

# A status flag selects a large share of the table, so a page walks the index of its sort order
# and checks each row's status. ``+ 0`` keeps planners (SQLite's sampled statistics above all)
# from instead gathering every flagged row through the status index and sorting them all.
UNINDEXED_STATUS = o.c.OrderStatusId + 0

NEWEST_ORDER_FIRST = (SortKey(o.c.DateOrder, descending=True), SortKey(o.c.Id, descending=True))
NEWEST_INVOICE_FIRST = (SortKey(o.c.DateInvoice, descending=True), SortKey(o.c.Id, descending=True))

Percent = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Percent, one decimal"}),
]


class DocumentParams(Params):
    """Paging of a document list: the filters are the subclass's."""

    cursor: str | None = Field(None, description="nextCursor of the previous page; omit for the first page")
    page_size: int = Field(50, ge=1, description="Rows per page. Default 50, max 100 (larger is clamped)")


def page_request(view: str, params: DocumentParams, tenant: str) -> PageRequest:
    return PageRequest.of(view, params, MAX_PAGE_SIZE, tenant)


def header() -> sa.Select[Any]:
    """The columns every document header shows: the document, its party, status and currency."""
    return sa.select(
        o.c.Id,
        o.c.Name,
        o.c.CompanyId,
        party.c.Name.label("CompanyName"),
        party.c.Orgno.label("CompanyOrgno"),
        o.c.OrderStatusId,
        status.c.Name.label("StatusName"),
        status_type.c.SystemName,
        o.c.DateOrder,
        o.c.DateDelivery,
        o.c.DateInvoice,
        o.c.DateDue,
        o.c.TotalExVat,
        o.c.TotalVat,
        o.c.TotalIncVat,
        currency.c.IsoCode.label("CurrencyIsoCode"),
    ).select_from(
        # Outer joins keep ``Orders`` the driving table, read in the order of the page.
        o.outerjoin(party, party.c.Id == o.c.CompanyId)
        .outerjoin(status, status.c.Id == o.c.OrderStatusId)
        .outerjoin(status_type, status_type.c.Id == status.c.OrderStatusTypeId)
        .outerjoin(currency, currency.c.Id == o.c.CurrencyId)
    )


# -- filters ------------------------------------------------------------------------------


def in_status(types: Sequence[str], flag: Flag | None, status_id: int | None) -> sa.ColumnElement[bool]:
    """The statuses that count: one pinned status (if it is of ``types``), else the flagged ones."""
    if status_id is not None:
        return sa.and_(o.c.OrderStatusId == status_id, UNINDEXED_STATUS.in_(status_ids(*types)))
    return UNINDEXED_STATUS.in_(status_ids(*types, flag=flag))


def within(column: sa.ColumnElement[Any], low: Any, high: Any) -> list[sa.ColumnElement[bool]]:
    """``low <= column <= high``, each end only when given (both ends inclusive)."""
    where = []
    if low is not None:
        where.append(column >= low)
    if high is not None:
        where.append(column <= high)
    return where


def dated_within(
    column: sa.ColumnElement[Any], low: datetime | None, high: datetime | None
) -> list[sa.ColumnElement[bool]]:
    return within(column, to_db_datetime(low) if low else None, to_db_datetime(high) if high else None)


def company_named(conn: sa.Connection, text: str) -> sa.ColumnElement[bool]:
    """The party's name has the words of ``text`` (``tools.search``). A few such parties: their
    documents through the party index. Many (``AB`` matches most Swedish companies): checked
    per row while the page walks its sort order, instead of gathering and sorting all their
    documents."""
    named = search.companies_matching(conn, text)
    few = conn.scalars(named.limit(FEW_PARTIES + 1)).all()
    if len(few) <= FEW_PARTIES:
        return o.c.CompanyId.in_(few)
    return (o.c.CompanyId + 0).in_(named)


def currency_coded(text: str) -> sa.ColumnElement[bool]:
    cur = s.currencies
    return o.c.CurrencyId.in_(sa.select(cur.c.Id).where(contains(cur.c.IsoCode, text)))


def free_text(conn: sa.Connection, q: str, number: sa.ColumnElement[int | None]) -> sa.ColumnElement[bool]:
    """``q``: the id or ``number`` exactly when numeric, or words of the document's name and
    its party's name, in any order (``tools.search``)."""
    matches = [search.documents_matching(conn, q, o.c.Id)]
    if (value := as_int(q)) is not None:
        matches += [o.c.Id == value, number == value]
    return sa.or_(*matches)


# -- figures computed per row -------------------------------------------------------------


def paid_amount() -> sa.ColumnElement[Decimal]:
    p = s.payments
    paid = sa.select(sa.func.coalesce(sa.func.sum(p.c.Amount), 0)).where(p.c.OrderId == o.c.Id)
    return sa.type_coerce(paid.scalar_subquery(), CENTS)


def has_line(*condition: sa.ColumnElement[bool]) -> sa.Exists:
    i = s.order_items
    return sa.exists().where(i.c.OrderId == o.c.Id, *condition)


def has_qty_left_to_deliver() -> sa.Exists:
    i = s.order_items
    return has_line(i.c.QtyDelivered < i.c.QtyOrdered)


def has_qty_over_delivered() -> sa.Exists:
    i = s.order_items
    return has_line(i.c.QtyDelivered > i.c.QtyOrdered)


# -- rules on the fetched figures ---------------------------------------------------------


def midnight(day: date) -> datetime:
    """The start of ``day`` as stored in the database (naive UTC)."""
    return datetime.combine(day, time())


def is_before(moment: datetime | None, today: date) -> bool:
    return moment is not None and moment < midnight(today)


def open_amount(total_inc_vat: Decimal, paid: Decimal) -> Decimal:
    return Decimal(total_inc_vat) - Decimal(paid)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``100 * part / whole`` to one decimal; None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(100) * Decimal(part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
