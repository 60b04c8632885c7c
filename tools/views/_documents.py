"""What the document header views (sales orders, sales invoices, purchase orders) share.

All three read rows of ``Orders``: which rows is decided by status type and reporting flag
(``statusKind``) or one pinned ``statusId``; every figure a row carries is computed in the page's
one statement by correlated subqueries keyed by the order id, never by a query per row.

The filters are declared once, each group with its SQL (``DocumentParams`` and the groups below
it); a view's params combine the groups it offers. The header columns are labelled with the
rows' field names, so one mapping (``document_row``) serves every view.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import sqlalchemy as sa
from pydantic import Field, PlainSerializer, WithJsonSchema

from tools import schema as s
from tools import search
from tools.paging import PagedParams, SortKey
from tools.planner_hints import unindexed_status
from tools.prebuilt import frozen
from tools.statuses import Flag, status_ids
from tools.text import as_int, contains
from tools.wire import QueryDateTime, midnight, to_db_datetime

orders = s.orders
# The header's lookups are aliases, so the filters' subqueries on the same tables never
# correlate to them.
party = s.companies.alias("party")
status = s.order_statuses.alias("status")
status_type = s.order_status_types.alias("status_type")
currency = s.currencies.alias("currency")

FEW_PARTIES = 50
# Filters whose statement depends on what the database holds (their matches are looked up).
LOOKED_UP = ("q", "customer_name", "vendor_name")
P = TypeVar("P", bound="DocumentParams")
CENTS = sa.Numeric(18, 2)
QTY = sa.Numeric(18, 3)

NEWEST_ORDER_FIRST = (SortKey(orders.c.DateOrder, descending=True), SortKey(orders.c.Id, descending=True))
NEWEST_INVOICE_FIRST = (
    SortKey(orders.c.DateInvoice, descending=True),
    SortKey(orders.c.Id, descending=True),
)

Percent = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Percent, one decimal"}),
]
Where = list[sa.ColumnElement[bool]]


# -- the filters, declared once -------------------------------------------------------------


class DocumentParams(PagedParams):
    """Paging and the filters every document list has. A view names its document ``number``
    and the statuses that count; the groups below add their own filters to ``where``."""

    number: ClassVar[sa.ColumnElement[Any]] = orders.c.InvoiceNumber

    currency: str | None = Field(None, description="Substring of the document's currency ISO code, e.g. EUR")
    status_id: int | None = Field(
        None,
        description=(
            "Exactly this OrderStatus id; replaces statusKind. A status of another document type "
            "matches nothing"
        ),
    )
    q: str | None = Field(
        None,
        description=(
            "Free text: the id or document number exactly, or words of the document's or the party's "
            "name in any order (case ignored; diacritics optional: pafyllning finds Påfyllning)"
        ),
    )

    def statuses(self, conn: sa.Connection) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def where(self, conn: sa.Connection) -> Where:
        where = [self.statuses(conn)]
        if self.currency:
            where.append(currency_coded(self.currency))
        if self.q:
            where.append(free_text(conn, self.q, self.number))
        return where


class CustomerFilter(DocumentParams):
    customer_id: int | None = Field(None, description="Only this customer's documents (the customer's id)")
    customer_name: str | None = Field(None, description="Substring of the customer name, any case")

    def where(self, conn: sa.Connection) -> Where:
        return super().where(conn) + party_is(conn, self.customer_id, self.customer_name)


class VendorFilter(DocumentParams):
    vendor_id: int | None = Field(None, description="Only orders to this supplier (the vendor's id)")
    vendor_name: str | None = Field(None, description="Substring of the supplier name, any case")

    def where(self, conn: sa.Connection) -> Where:
        return super().where(conn) + party_is(conn, self.vendor_id, self.vendor_name)


class OrderDates(DocumentParams):
    order_date_from: QueryDateTime | None = Field(None, description="dateOrder on or after (ISO 8601)")
    order_date_to: QueryDateTime | None = Field(None, description="dateOrder on or before (ISO 8601)")
    delivery_date_from: QueryDateTime | None = Field(None, description="dateDelivery on or after")
    delivery_date_to: QueryDateTime | None = Field(None, description="dateDelivery on or before")

    def where(self, conn: sa.Connection) -> Where:
        return (
            super().where(conn)
            + dated_within(orders.c.DateOrder, self.order_date_from, self.order_date_to)
            + dated_within(orders.c.DateDelivery, self.delivery_date_from, self.delivery_date_to)
        )


class InvoiceDates(DocumentParams):
    invoice_date_from: QueryDateTime | None = Field(None, description="dateInvoice on or after (ISO 8601)")
    invoice_date_to: QueryDateTime | None = Field(None, description="dateInvoice on or before (ISO 8601)")

    def where(self, conn: sa.Connection) -> Where:
        low, high = self.invoice_date_from, self.invoice_date_to
        return super().where(conn) + dated_within(orders.c.DateInvoice, low, high)


class Totals(DocumentParams):
    total_min: Decimal | None = Field(
        None, description="Total ex VAT at least this (credit notes are negative)"
    )
    total_max: Decimal | None = Field(None, description="Total ex VAT at most this")

    def where(self, conn: sa.Connection) -> Where:
        return super().where(conn) + within(orders.c.TotalExVat, self.total_min, self.total_max)


def in_status(
    conn: sa.Connection, types: Sequence[str], flag: Flag | None, status_id: int | None
) -> sa.ColumnElement[bool]:
    """The statuses that count: one pinned status (if it is of ``types``), else the flagged ones."""
    unindexed = unindexed_status(conn, orders.c.OrderStatusId)
    if status_id is not None:
        return sa.and_(orders.c.OrderStatusId == status_id, unindexed.in_(status_ids(*types)))
    return unindexed.in_(status_ids(*types, flag=flag))


def within(column: sa.ColumnElement[Any], low: Any, high: Any) -> Where:
    """``low <= column <= high``, each end only when given (both ends inclusive)."""
    where = []
    if low is not None:
        where.append(column >= low)
    if high is not None:
        where.append(column <= high)
    return where


def dated_within(column: sa.ColumnElement[Any], low: datetime | None, high: datetime | None) -> Where:
    return within(column, to_db_datetime(low) if low else None, to_db_datetime(high) if high else None)


def party_is(conn: sa.Connection, party_id: int | None, name: str | None) -> Where:
    where = []
    if party_id is not None:
        where.append(orders.c.CompanyId == party_id)
    if name:
        where.append(company_named(conn, name))
    return where


def company_named(conn: sa.Connection, text: str) -> sa.ColumnElement[bool]:
    """The party's name has the words of ``text`` (``tools.search``). A few such parties: their
    documents through the party index. Many (``AB`` matches most Swedish companies): checked
    per row while the page walks its sort order, instead of gathering and sorting all their
    documents."""
    named = search.companies_matching(conn, text)
    few = conn.scalars(named.limit(FEW_PARTIES + 1)).all()
    if len(few) <= FEW_PARTIES:
        return orders.c.CompanyId.in_(few)
    return (orders.c.CompanyId + 0).in_(named)


def currency_coded(text: str) -> sa.ColumnElement[bool]:
    currencies = s.currencies
    return orders.c.CurrencyId.in_(sa.select(currencies.c.Id).where(contains(currencies.c.IsoCode, text)))


def free_text(conn: sa.Connection, q: str, number: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """``q``: the id or ``number`` exactly when numeric, or words of the document's name and
    its party's name, in any order (``tools.search``)."""
    matches = [search.documents_matching(conn, q, orders.c.Id)]
    if (value := as_int(q)) is not None:
        matches += [orders.c.Id == value, number == value]
    return sa.or_(*matches)


def text_apart(conn: sa.Connection, params: P) -> tuple[P, list[sa.ColumnElement[bool]]]:
    """A free-text ``q`` apart from the other filters: the params without it, whose statement is
    built once (``statement_key``), and its condition, looked up on this call
    (``read_trusted_page``'s ``extra``)."""
    if not params.q:
        return params, []
    return params.model_copy(update={"q": None}), [free_text(conn, params.q, params.number)]


def statement_key(conn: sa.Connection, view: str, params: DocumentParams, *more: Hashable) -> Hashable | None:
    """What a document page's statement depends on (``tools.prebuilt``): the view, the
    dialect and the filters; None when building it reads the database (a name or free-text
    filter looks its matches up first)."""
    filters = params.model_dump(exclude={"cursor", "page_size"})
    if any(filters.get(name) for name in LOOKED_UP):
        return None
    return (view, conn.dialect.name, frozen(filters), *more)


# -- the header, labelled with the rows' field names ---------------------------------------


def header(party_role: Literal["customer", "vendor"]) -> sa.Select[Any]:
    """The columns every document header shows: the document, its party, status and currency."""
    return sa.select(
        orders.c.Id.label("id"),
        orders.c.Name.label("name"),
        orders.c.CompanyId.label(f"{party_role}_id"),
        party.c.Name.label(f"{party_role}_name"),
        party.c.Orgno.label(f"{party_role}_orgno"),
        orders.c.OrderStatusId.label("status_id"),
        status.c.Name.label("status_name"),
        status_type.c.SystemName.label("status_type"),
        orders.c.DateOrder.label("date_order"),
        orders.c.DateDelivery.label("date_delivery"),
        orders.c.DateInvoice.label("date_invoice"),
        orders.c.DateDue.label("date_due"),
        orders.c.TotalExVat.label("total_ex_vat"),
        orders.c.TotalVat.label("total_vat"),
        orders.c.TotalIncVat.label("total_inc_vat"),
        currency.c.IsoCode.label("currency_iso_code"),
    ).select_from(
        # Outer joins keep ``Orders`` the driving table, read in the order of the page.
        orders.outerjoin(party, party.c.Id == orders.c.CompanyId)
        .outerjoin(status, status.c.Id == orders.c.OrderStatusId)
        .outerjoin(status_type, status_type.c.Id == status.c.OrderStatusTypeId)
        .outerjoin(currency, currency.c.Id == orders.c.CurrencyId)
    )


def document_values(row: Mapping[str, Any], **figures: Any) -> dict[str, Any]:
    """A header row (labelled with its field names) with the view's own figures: a row of a
    ``TrustedPage``, whose values the database typed are taken as they are."""
    return {**row, **figures}


# -- figures computed per row -------------------------------------------------------------


def paid_amount(*, kept: bool = False) -> sa.ColumnElement[Decimal]:
    """The document's payments summed; read from ``Orders.PaidAmount`` where the database
    keeps it (``tools.balances.balance_kept``)."""
    if kept:
        return sa.type_coerce(orders.c.PaidAmount, CENTS)
    payments = s.payments
    paid = sa.select(sa.func.coalesce(sa.func.sum(payments.c.Amount), 0)).where(
        payments.c.OrderId == orders.c.Id
    )
    return sa.type_coerce(paid.scalar_subquery(), CENTS)


def open_amount(*, kept: bool = False) -> sa.ColumnElement[Decimal]:
    """``totalIncVat - paidAmount`` in SQL, to the cent on every database (SQLite sums floats)."""
    unpaid = orders.c.TotalIncVat - sa.func.round(paid_amount(kept=kept), 2)
    return sa.type_coerce(sa.func.round(unpaid, 2), CENTS)


def has_line(*condition: sa.ColumnElement[bool]) -> sa.Exists:
    items = s.order_items
    return sa.exists().where(items.c.OrderId == orders.c.Id, *condition)


def has_qty_left_to_deliver() -> sa.Exists:
    items = s.order_items
    return has_line(items.c.QtyDelivered < items.c.QtyOrdered)


def has_qty_over_delivered() -> sa.Exists:
    items = s.order_items
    return has_line(items.c.QtyDelivered > items.c.QtyOrdered)


# -- rules on the fetched figures ---------------------------------------------------------


def is_before(moment: datetime | None, today: date) -> bool:
    """Whether ``moment`` is before ``today`` began in UTC; an aware moment (SQLite text with an
    offset) counts in UTC, as the wire writes it."""
    if moment is None:
        return False
    return (moment if moment.tzinfo is None else to_db_datetime(moment)) < midnight(today)


def payment_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """``openAmount`` (inc VAT minus the payments) and ``isFullyPaid`` of a row with ``paid_amount``."""
    unpaid = Decimal(row["total_inc_vat"]) - Decimal(row["paid_amount"])
    return {"open_amount": unpaid, "is_fully_paid": unpaid <= 0}


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``100 * part / whole`` to one decimal; None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(100) * Decimal(part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
