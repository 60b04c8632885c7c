"""Customers: ``GET /customers`` (list or search) and ``GET /customers/{customerId}`` (detail)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools import search
from tools.balances import balance_kept
from tools.errors import NotFound
from tools.home_currency import HomeCurrency, home_currency
from tools.paging import Page, PagedParams, Paging, SortKey, TrustedPage, fetch_page
from tools.prebuilt import prebuilt
from tools.reference import SALESINVOICE, SALESORDER
from tools.statuses import status_ids
from tools.text import as_int, contains
from tools.view import View, ViewContext, register
from tools.views._receivables import customer_open_in_home, owed_in_home
from tools.wire import Money, Params, WireModel

c = s.companies


class CustomerParams(PagedParams):
    q: str | None = Field(None, description="Match against id (exact), name or organisation number")
    inactive: bool = Field(False, description="Include inactive customers. Default false")
    overdue_min: Decimal | None = Field(
        None, description="Only customers whose overdueAmountHome is at least this (home currency)"
    )
    open_min: Decimal | None = Field(
        None, description="Only customers whose openAmountHome is at least this (home currency)"
    )


class CustomerDto(WireModel):
    id: int
    contact_number: int
    name: str
    orgno: str | None
    currency_iso_code: str | None = Field(description="Null means the company's default currency")
    inactive: bool
    open_order_count: int = Field(description="Sales orders in the order book with something left to deliver")
    open_amount_home: Money = Field(
        description="Unpaid amount of the customer's invoices, in the home currency"
    )
    overdue_amount_home: Money = Field(description="The part of openAmountHome past its due date")


class CustomerDetailParams(Params):
    customer_id: int = Field(description="The customer's id")


class CustomerDetailDto(WireModel):
    id: int
    contact_number: int
    name: str
    orgno: str | None
    credit_limit: Money | None
    overdue_order_sum: Money = Field(description="Open amount of the customer's invoices past their due date")
    credit_stop: bool
    payment_term_id: int | None
    payment_term_name: str | None
    delivery_term_id: int | None
    delivery_term_name: str | None
    price_list_id: int | None
    price_list_name: str | None
    currency_id: int | None
    currency_iso_code: str | None
    vat_type_id: int | None
    vat_type_name: str | None
    inactive: bool
    order_count: int = Field(description="The customer's documents that count as order intake")


def open_order_count(customer_id: sa.ColumnElement[int]) -> sa.ScalarSelect[int]:
    o, i = s.orders, s.order_items
    left_to_deliver = sa.exists().where(i.c.OrderId == o.c.Id, i.c.QtyDelivered < i.c.QtyOrdered)
    return (
        sa.select(sa.func.count())
        .where(
            o.c.CompanyId == customer_id,
            o.c.OrderStatusId.in_(status_ids(SALESORDER, flag="IsOrderIntake")),
            left_to_deliver,
        )
        .scalar_subquery()
    )


def order_count(customer_id: sa.ColumnElement[int]) -> sa.ScalarSelect[int]:
    o = s.orders
    intake = status_ids(SALESORDER, SALESINVOICE, flag="IsOrderIntake")
    return (
        sa.select(sa.func.count())
        .where(o.c.CompanyId == customer_id, o.c.OrderStatusId.in_(intake))
        .scalar_subquery()
    )


def overdue_order_sum(
    customer_id: sa.ColumnElement[int], today: date | sa.BindParameter[Any]
) -> sa.ScalarSelect[Decimal]:
    o, p = s.orders, s.payments
    paid = sa.select(sa.func.coalesce(sa.func.sum(p.c.Amount), 0)).where(p.c.OrderId == o.c.Id)
    open_amount = o.c.TotalIncVat - paid.scalar_subquery()
    return (
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((open_amount > 0, open_amount), else_=0)), 0))
        .where(
            o.c.CompanyId == customer_id,
            o.c.OrderStatusId.in_(status_ids(SALESINVOICE, flag="IsSales")),
            o.c.DateDue < today,
        )
        .scalar_subquery()
    )


def _customer_filters(conn: sa.Connection, params: CustomerParams) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [c.c.IsCustomer.is_(True)]
    if not params.inactive:
        where.append(c.c.Inactive.is_(False))
    if params.q:
        matches = [c.c.Id.in_(search.companies_matching(conn, params.q)), contains(c.c.Orgno, params.q)]
        if (number := as_int(params.q)) is not None:
            matches.append(c.c.Id == number)
        where.append(sa.or_(*matches))
    return where


NOTHING_OWED = {"open": Decimal(0), "overdue": Decimal(0)}


def _owed_filters(params: CustomerParams, owed: Owed) -> list[sa.ColumnElement[bool]]:
    where = []
    if params.overdue_min is not None:
        where.append(owed.overdue >= params.overdue_min)
    if params.open_min is not None:
        where.append(owed.open >= params.open_min)
    return where


def list_customers(conn: sa.Connection, ctx: ViewContext, params: CustomerParams) -> TrustedPage[CustomerDto]:
    keys = [SortKey(c.c.Name), SortKey(c.c.Id)]
    home = home_currency(conn, ctx)
    stmt = sa.select(
        c.c.Id,
        c.c.ContactNumber,
        c.c.Name,
        c.c.Orgno,
        s.currencies.c.IsoCode,
        c.c.Inactive,
        open_order_count(c.c.Id).label("OpenOrderCount"),
    ).outerjoin(s.currencies, s.currencies.c.Id == c.c.CurrencyId)
    where = _customer_filters(conn, params) + _owed_filters(params, Owed.of(home, ctx, balance_kept(conn)))
    rows, next_cursor = fetch_page(conn, stmt.where(*where), keys, ctx.page)
    # What the page's customers owe: one grouped query over their invoices, not two per row.
    owed = owed_in_home(conn, home, ctx.today, [row.Id for row in rows])
    values = [_customer(row._mapping, owed.get(row.Id, NOTHING_OWED)) for row in rows]
    return TrustedPage(CustomerDto, values, next_cursor, ctx.page)


def _customer(row: sa.RowMapping, owed: Mapping[str, Decimal]) -> dict[str, Any]:
    return {
        "id": row["Id"],
        "contact_number": row["ContactNumber"],
        "name": row["Name"],
        "orgno": row["Orgno"],
        "currency_iso_code": row["IsoCode"],
        "inactive": row["Inactive"],
        "open_order_count": row["OpenOrderCount"],
        "open_amount_home": owed["open"],
        "overdue_amount_home": owed["overdue"],
    }


@dataclass(frozen=True)
class Owed:
    """What each customer row owes, in the home currency (see tools.receivables)."""

    open: sa.ScalarSelect[Decimal]
    overdue: sa.ScalarSelect[Decimal]

    @classmethod
    def of(cls, home: HomeCurrency, ctx: ViewContext, kept: bool) -> Owed:
        return cls(
            customer_open_in_home(home, ctx.today, c.c.Id, overdue_only=False, kept=kept),
            customer_open_in_home(home, ctx.today, c.c.Id, overdue_only=True, kept=kept),
        )


def get_customer(conn: sa.Connection, ctx: ViewContext, params: CustomerDetailParams) -> CustomerDetailDto:
    stmt = prebuilt(("customer", conn.dialect.name), _customer_statement)
    row = conn.execute(stmt, {"customer_id": params.customer_id, "today": ctx.today}).one_or_none()
    if row is None:
        raise NotFound(f"Customer {params.customer_id} not found")
    return _customer_detail(row._mapping)


def _customer_statement() -> sa.Select[Any]:
    """One customer's row: built once, the customer and the day bound at each call."""
    today: sa.BindParameter[date] = sa.bindparam("today")
    return (
        sa.select(
            c,
            s.payment_terms.c.Name.label("PaymentTermName"),
            s.delivery_terms.c.Name.label("DeliveryTermName"),
            s.price_lists.c.Name.label("PriceListName"),
            s.currencies.c.IsoCode.label("CurrencyIsoCode"),
            s.vat_types.c.Name.label("VatTypeName"),
            overdue_order_sum(c.c.Id, today).label("OverdueOrderSum"),
            order_count(c.c.Id).label("OrderCount"),
        )
        .outerjoin(s.payment_terms, s.payment_terms.c.Id == c.c.PaymentTermId)
        .outerjoin(s.delivery_terms, s.delivery_terms.c.Id == c.c.DeliveryTermId)
        .outerjoin(s.price_lists, s.price_lists.c.Id == c.c.PriceListId)
        .outerjoin(s.currencies, s.currencies.c.Id == c.c.CurrencyId)
        .outerjoin(s.vat_types, s.vat_types.c.Id == c.c.VatTypeId)
        .where(c.c.Id == sa.bindparam("customer_id"), c.c.IsCustomer.is_(True))
    )


def _customer_detail(row: Any) -> CustomerDetailDto:
    return CustomerDetailDto(
        id=row["Id"],
        contact_number=row["ContactNumber"],
        name=row["Name"],
        orgno=row["Orgno"],
        credit_limit=row["CreditLimit"],
        overdue_order_sum=Decimal(row["OverdueOrderSum"]),
        credit_stop=row["CreditStop"],
        payment_term_id=row["PaymentTermId"],
        payment_term_name=row["PaymentTermName"],
        delivery_term_id=row["DeliveryTermId"],
        delivery_term_name=row["DeliveryTermName"],
        price_list_id=row["PriceListId"],
        price_list_name=row["PriceListName"],
        currency_id=row["CurrencyId"],
        currency_iso_code=row["CurrencyIsoCode"],
        vat_type_id=row["VatTypeId"],
        vat_type_name=row["VatTypeName"],
        inactive=row["Inactive"],
        order_count=row["OrderCount"],
    )


register(
    View(
        name="customers",
        tool="list_customers",
        method="GET",
        path="/customers",
        params=CustomerParams,
        result=Page[CustomerDto],
        query=list_customers,
        paging=Paging(default=50, maximum=100),
        title="List customers",
        description=(
            "List or search customers (companies you sell to), sorted by name then id. `q` matches "
            "the customer id exactly, or a substring of the name or organisation number (case-"
            "insensitive). Inactive customers are left out unless `inactive` is true. Each row has "
            "`openOrderCount`: sales orders in the order book with something left to deliver, and "
            "`openAmountHome` / `overdueAmountHome`: what the customer owes on its invoices, in the "
            "home currency; `overdueMin` / `openMin` keep customers owing at least that much. Use "
            "get_receivables for aging buckets and totals, get_customer for credit limit and terms."
        ),
    )
)

register(
    View(
        name="customer",
        tool="get_customer",
        method="GET",
        path="/customers/{customerId}",
        path_params=("customerId",),
        params=CustomerDetailParams,
        result=CustomerDetailDto,
        query=get_customer,
        title="Get one customer",
        description=(
            "Full detail of one customer by id: credit limit and credit stop, payment and delivery "
            "terms, price list, currency and VAT type, `orderCount` (documents that count as order "
            "intake) and `overdueOrderSum` (open amount of invoices past their due date, in the "
            "invoices' currency). Not found (or another company's id) gives an error; use "
            "list_customers to find the id by name."
        ),
    )
)
