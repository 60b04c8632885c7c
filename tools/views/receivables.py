"""Receivables: ``GET /receivables``, open and overdue amounts per customer with aging buckets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.home_currency import HomeCurrency, home_currency
from tools.text import contains
from tools.view import View, ViewContext, register
from tools.views._receivables import aging_by_customer_and_currency, bucket_names, buckets_in_home, cents
from tools.wire import IsoDate, Money, Params, WireModel

c = s.companies
o = s.orders
MAX_LIMIT = 100


class ReceivablesParams(Params):
    customer_id: int | None = Field(
        None, description="Only this customer (its row is returned even when nothing is open)"
    )
    customer_name: str | None = Field(None, description="Substring of the customer name, any case")
    overdue_min: Decimal | None = Field(
        None, description="Only customers whose overdue amount in the home currency is at least this"
    )
    limit: int = Field(25, ge=1, description="Customers shown, most overdue first. Default 25, max 100")


class Aging(WireModel):
    not_due: Money = Field(description="Open, not yet due")
    overdue1_to30: Money = Field(alias="overdue1To30")
    overdue31_to60: Money = Field(alias="overdue31To60")
    overdue61_to90: Money = Field(alias="overdue61To90")
    overdue_over90: Money = Field(alias="overdueOver90")
    overdue: Money = Field(description="Sum of the four overdue buckets")
    open: Money = Field(description="notDue plus overdue")


class CurrencyOpen(WireModel):
    currency_iso_code: str
    open_amount: Money
    overdue_amount: Money
    open_invoice_count: int


class _Customer(WireModel):
    customer_id: int
    customer_name: str


class CustomerReceivable(Aging, _Customer):
    credit_limit_home: Money | None = Field(description="The customer's credit limit in the home currency")
    credit_headroom_home: Money | None = Field(description="creditLimitHome minus open; null without a limit")
    credit_stop: bool
    by_currency: list[CurrencyOpen] = Field(description="Open and overdue in each document currency")


class ReceivablesDto(WireModel):
    as_of: IsoDate = Field(description="Today (UTC): days overdue count from here")
    home_currency_iso_code: str
    totals: Aging = Field(description="Sums over every matching customer, not only those shown")
    customer_count: int = Field(description="Customers that match")
    customers: list[CustomerReceivable] = Field(description="Most overdue first (then most open, then id)")
    truncated: bool = Field(description="True when more customers match than are shown (raise limit)")


def receivables(conn: sa.Connection, ctx: ViewContext, params: ReceivablesParams) -> ReceivablesDto:
    home = home_currency(conn, ctx)
    where = _filters(params)
    per_currency = conn.execute(aging_by_customer_and_currency(ctx.today, *where)).all()
    rows = _customer_rows(conn, home, per_currency, params)
    if params.overdue_min is not None:
        rows = [row for row in rows if row.overdue >= params.overdue_min]
    rows.sort(key=lambda r: (-r.overdue, -r.open, r.customer_id))
    limit = min(params.limit, MAX_LIMIT)
    return ReceivablesDto(
        as_of=ctx.today,
        home_currency_iso_code=home.iso_code,
        totals=_totals(rows),
        customer_count=len(rows),
        customers=rows[:limit],
        truncated=len(rows) > limit,
    )


def _filters(params: ReceivablesParams) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.customer_name:
        where.append(o.c.CompanyId.in_(sa.select(c.c.Id).where(contains(c.c.Name, params.customer_name))))
    return where


def _customer_rows(
    conn: sa.Connection, home: HomeCurrency, per_currency: Sequence[Any], params: ReceivablesParams
) -> list[CustomerReceivable]:
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for row in per_currency:
        by_customer[row.CompanyId].append(row)
    wanted = set(by_customer)
    if params.customer_id is not None:
        wanted.add(params.customer_id)
    customers = conn.execute(
        sa.select(c.c.Id, c.c.Name, c.c.CreditLimit, c.c.CreditStop, c.c.CurrencyId).where(
            c.c.Id.in_(sorted(wanted)), c.c.IsCustomer.is_(True)
        )
    ).all()
    return [_customer_row(home, customer, by_customer.get(customer.Id, [])) for customer in customers]


def _customer_row(home: HomeCurrency, customer: Any, sums: list[Any]) -> CustomerReceivable:
    aging = Aging.model_validate(buckets_in_home(home, sums))
    limit = None
    if customer.CreditLimit is not None:
        currency_id = customer.CurrencyId or _home_id(home)
        limit = home.convert(Decimal(customer.CreditLimit), currency_id)
    return CustomerReceivable(
        customer_id=customer.Id,
        customer_name=customer.Name,
        credit_limit_home=limit,
        credit_headroom_home=None if limit is None else limit - aging.open,
        credit_stop=customer.CreditStop,
        by_currency=[_currency_open(home, r) for r in sums],
        **aging.model_dump(by_alias=False),
    )


def _home_id(home: HomeCurrency) -> int:
    return next(rate.currency_id for rate in home.rates.values() if rate.iso_code == home.iso_code)


def _currency_open(home: HomeCurrency, row: Any) -> CurrencyOpen:
    amounts = {name: cents(row._mapping[name]) for name in bucket_names()}
    overdue = sum((v for k, v in amounts.items() if k != "notDue"), Decimal(0))
    return CurrencyOpen(
        currency_iso_code=home.rate(row.CurrencyId).iso_code,
        open_amount=amounts["notDue"] + overdue,
        overdue_amount=overdue,
        open_invoice_count=row.Invoices,
    )


def _totals(rows: list[CustomerReceivable]) -> Aging:
    names = [
        "not_due",
        "overdue1_to30",
        "overdue31_to60",
        "overdue61_to90",
        "overdue_over90",
        "overdue",
        "open",
    ]
    return Aging(**{name: sum((getattr(r, name) for r in rows), Decimal(0)) for name in names})


register(
    View(
        name="receivables",
        tool="get_receivables",
        method="GET",
        path="/receivables",
        params=ReceivablesParams,
        result=ReceivablesDto,
        query=receivables,
        title="Receivables: overdue and aging per customer",
        description=(
            "What customers owe, computed in the database: per customer the open amount of its "
            "unpaid sales invoices in the home currency, split into aging buckets (notDue, "
            "overdue1To30, overdue31To60, overdue61To90, overdueOver90 days past dateDue), the "
            "overdue sum, credit limit and headroom, and per document currency the open and "
            "overdue amounts; plus a `totals` row over every matching customer. Most overdue "
            "first. Answers 'who owes us money', 'which customers have more than X overdue' "
            "(overdueMin, in the home currency), 'how old are our receivables', 'what does "
            "customer X owe and how much credit is left' (customerId). Use list_sales_invoices "
            "for the individual invoices of one customer, summarize for sales per period."
        ),
    )
)
