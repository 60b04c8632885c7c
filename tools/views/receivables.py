"""Receivables: ``GET /receivables``, open and overdue amounts per customer with aging buckets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.balances import balance_kept
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
    aging = aging_by_customer_and_currency(ctx.today, *_filters(params), kept=balance_kept(conn))
    per_currency = conn.execute(aging).all()

    def customers(ids: list[int]) -> Sequence[Any]:
        columns = (c.c.Id, c.c.Name, c.c.CreditLimit, c.c.CreditStop, c.c.CurrencyId)
        return conn.execute(sa.select(*columns).where(c.c.Id.in_(ids), c.c.IsCustomer.is_(True))).all()

    aged = aged_parties(
        home,
        per_currency,
        party="CompanyId",
        parties=customers,
        pinned=params.customer_id,
        row=lambda customer, aging, by_currency: _customer_row(home, customer, aging, by_currency),
        overdue_min=params.overdue_min,
        limit=min(params.limit, MAX_LIMIT),
    )
    return ReceivablesDto(
        as_of=ctx.today,
        home_currency_iso_code=home.iso_code,
        totals=aged.totals,
        customer_count=aged.count,
        customers=aged.shown,
        truncated=aged.truncated,
    )


def _filters(params: ReceivablesParams) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if params.customer_id is not None:
        where.append(o.c.CompanyId == params.customer_id)
    if params.customer_name:
        where.append(o.c.CompanyId.in_(sa.select(c.c.Id).where(contains(c.c.Name, params.customer_name))))
    return where


# -- the aging of parties: customers here, suppliers in payables ------------------------------

Row = TypeVar("Row", bound=Aging)


@dataclass(frozen=True)
class AgedParties(Generic[Row]):
    totals: Aging
    count: int
    shown: list[Row]
    truncated: bool


def aged_parties(
    home: HomeCurrency,
    per_currency: Sequence[Any],
    *,
    party: str,
    parties: Callable[[list[int]], Sequence[Any]],
    pinned: int | None,
    row: Callable[[Any, Aging, list[CurrencyOpen]], Row],
    overdue_min: Decimal | None,
    limit: int,
) -> AgedParties[Row]:
    """One row per party (customer or supplier) from the per-(party ``party`` column, currency)
    sums: buckets in the home currency and per document currency. ``parties`` reads the party
    rows of the given ids (the ``pinned`` one is shown even with nothing open); ``row`` makes the
    view's row from one of them. Most overdue first (then most open, then id), with totals over
    every party that passes ``overdue_min`` and the first ``limit`` shown."""
    by_party: dict[int, list[Any]] = defaultdict(list)
    for sums in per_currency:
        by_party[sums._mapping[party]].append(sums)
    wanted = set(by_party) | ({pinned} if pinned is not None else set())
    rows: list[tuple[int, Row]] = []
    for found in parties(sorted(wanted)):
        sums = by_party.get(found.Id, [])
        aging = Aging.model_validate(buckets_in_home(home, sums))
        rows.append((found.Id, row(found, aging, [_currency_open(home, r) for r in sums])))
    if overdue_min is not None:
        rows = [(key, r) for key, r in rows if r.overdue >= overdue_min]
    rows.sort(key=lambda keyed: (-keyed[1].overdue, -keyed[1].open, keyed[0]))
    totals = Aging(
        **{name: sum((getattr(r, name) for _, r in rows), Decimal(0)) for name in Aging.model_fields}
    )
    return AgedParties(totals, len(rows), [r for _, r in rows[:limit]], len(rows) > limit)


def _customer_row(
    home: HomeCurrency, customer: Any, aging: Aging, by_currency: list[CurrencyOpen]
) -> CustomerReceivable:
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
        by_currency=by_currency,
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
