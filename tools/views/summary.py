"""Summaries: ``GET /summary``, sales, order intake or purchases added up in the database per
period, optionally per customer / vendor, product or currency, against a comparison range."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BeforeValidator, Field, WithJsonSchema

from tools import line_months
from tools import schema as s
from tools.errors import BadRequest
from tools.home_currency import CENT, HomeCurrency, home_currency
from tools.periods import (
    CompareTo,
    Period,
    add_months,
    as_date,
    comparison_shift,
    label,
    period_start,
    starts,
)
from tools.view import View, ViewContext, register
from tools.views._documents import Percent, percent
from tools.views._summaries import (
    GroupBy,
    Measure,
    Scope,
    aggregate,
    kept_by_month,
    month_sums,
    top_groups,
)
from tools.wire import IsoDate, Money, Params, Quantity, WireModel

MAX_PERIODS = 62
MAX_TOP = 50
RankBy = Literal["value", "quantity"]
PARTY: dict[Measure, str] = {"sales": "customer", "orderIntake": "customer", "purchases": "vendor"}


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and len(value.strip()) != 10:
        raise ValueError("expected an ISO 8601 date such as 2026-11-01")
    if isinstance(value, int | float):
        raise ValueError("expected an ISO 8601 date such as 2026-11-01")
    return value


QueryDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "description": "ISO 8601 date, e.g. 2026-11-01"}),
]


class SummaryParams(Params):
    measure: Measure = Field(
        "sales",
        description="sales (default: invoiced ex VAT, credit notes netted, by invoice date), orderIntake "
        "(orders taken, by order date) or purchases (purchase orders placed, by order date)",
    )
    period: Period = Field(
        "month", description="day, week (ISO, Monday first), month (default), quarter or year"
    )
    date_from: QueryDate | None = Field(
        None, alias="from", description="First day, inclusive. Default: the start of the period holding `to`"
    )
    date_to: QueryDate | None = Field(None, alias="to", description="Last day, inclusive. Default: today")
    group_by: GroupBy | None = Field(
        None,
        description="Also add up per customer (sales, orderIntake), vendor (purchases), product or currency",
    )
    compare_to: CompareTo | None = Field(
        None,
        description="previousPeriod (as many periods just before: this month against last month) or "
        "previousYear (the same days a year earlier)",
    )
    rank_by: RankBy = Field(
        "value", description="Order of the groups: value (default) or quantity (groupBy=product)"
    )
    top: int = Field(10, ge=1, description=f"Groups returned, largest first. Default 10, max {MAX_TOP}")
    customer_id: int | None = Field(None, description="Only this customer (sales, orderIntake)")
    vendor_id: int | None = Field(None, description="Only this vendor (purchases)")
    product_id: int | None = Field(None, description="Only lines of this product (adds quantities)")


class CurrencyAmount(WireModel):
    currency_iso_code: str
    amount: Money = Field(description="In the document currency")
    amount_home: Money


class Figures(WireModel):
    amount_home: Money = Field(description="Ex VAT, in the home currency")
    quantity: Quantity | None = Field(
        description="Units, when products are summed (groupBy=product, productId)"
    )
    document_count: int
    by_currency: list[CurrencyAmount] = Field(description="The same amount per document currency")


class PeriodFigures(WireModel):
    period: str = Field(description="2026-11-20, 2026-W47, 2026-11, 2026-Q4 or 2026")
    start: IsoDate
    amount_home: Money
    quantity: Quantity | None
    document_count: int


class Comparison(WireModel):
    date_from: IsoDate = Field(alias="from")
    date_to: IsoDate = Field(alias="to")
    total: Figures
    change_home: Money = Field(description="total.amountHome minus the comparison's amountHome")
    change_percent: Percent | None = Field(
        description="changeHome as a percentage of the comparison; null from 0"
    )
    periods: list[PeriodFigures]


class GroupFigures(WireModel):
    id: int | None = Field(
        description="Customer, vendor, product or currency id; null: lines without a product"
    )
    number: str | None = Field(description="Product number (groupBy=product)")
    name: str
    amount_home: Money
    amount: Money | None = Field(description="In the group's document currency, when it has only one")
    currency_iso_code: str | None
    quantity: Quantity | None
    document_count: int
    period_amounts_home: list[Money] = Field(description="amountHome per entry of `periods`, in that order")
    comparison_amount_home: Money | None = Field(description="amountHome over the comparison range")


class SummaryDto(WireModel):
    measure: Measure
    period: Period
    date_from: IsoDate = Field(alias="from")
    date_to: IsoDate = Field(alias="to")
    group_by: GroupBy | None
    rank_by: RankBy | None
    home_currency_iso_code: str
    total: Figures
    periods: list[PeriodFigures]
    comparison: Comparison | None
    groups: list[GroupFigures] = Field(description="The top groups by rankBy (empty without groupBy)")
    group_count: int = Field(description="Groups with figures in the range")
    truncated: bool = Field(description="True when more groups exist than are returned (raise top)")


_NO_QUANTITY = object()


@dataclass
class Sums:
    """One figure being added up: per currency exact amounts, quantity, documents."""

    amounts: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    quantity: Decimal | None = None
    documents: int = 0

    def add(self, row: Any) -> None:
        self.amounts[row.CurrencyId] += _cents(row.Amount)
        quantity = getattr(row, "Quantity", _NO_QUANTITY)  # Row._fields costs more than the sum
        if quantity is not _NO_QUANTITY:
            self.quantity = (self.quantity or Decimal(0)) + Decimal(str(quantity or 0))
        self.documents += row.Documents

    def home(self, home: HomeCurrency) -> Decimal:
        return sum((home.convert(amount, cid) for cid, amount in self.amounts.items()), Decimal(0))


def _cents(value: Any) -> Decimal:
    exact = value if isinstance(value, Decimal) else Decimal(str(value or 0))
    return exact.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Plan:
    scope: Scope
    first: date
    last: date
    period: Period
    dialect: str
    by_lines: bool
    group_by: GroupBy | None

    by_month: bool = False

    def query(self, conn: sa.Connection, first: date, last: date, **kwargs: Any) -> Sequence[Any]:
        """The sums of ``aggregate``; the whole months of the range from ``OrderItemMonth`` when
        the database keeps it, the days before and after them from the lines."""
        whole = _whole_months(first, last) if self.by_month else None
        if whole is None:
            return self._lines(conn, first, last, **kwargs)
        # The days around the months are asked without ``only_groups`` and sifted here: a few
        # weeks of lines by date, not every line of the top products (SQLite picks their index).
        around = {name: value for name, value in kwargs.items() if name != "only_groups"}
        rows: list[Any] = []
        for stmt in self._around(first, last, whole, **around):
            rows += conn.execute(stmt).all()
        if kwargs.get("only_groups") is not None:
            wanted = set(kwargs["only_groups"])
            rows = [row for row in rows if row.GroupKey in wanted]
        return [*conn.execute(month_sums(self.scope, *whole, dialect=self.dialect, **kwargs)).all(), *rows]

    def statements(self, first: date, last: date, **kwargs: Any) -> list[sa.Select[Any]]:
        """What ``query`` runs, without ``only_groups``: the kept months and the days around."""
        whole = _whole_months(first, last) if self.by_month else None
        if whole is None:
            return [self._aggregate(first, last, **kwargs)]
        kept = month_sums(self.scope, *whole, dialect=self.dialect, **kwargs)
        return [kept, *self._around(first, last, whole, **kwargs)]

    def _around(
        self, first: date, last: date, whole: tuple[date, date], **kwargs: Any
    ) -> list[sa.Select[Any]]:
        start, end = whole
        days = [(first, start - timedelta(days=1))] if first < start else []
        days += [(end, last)] if end <= last else []
        return [self._aggregate(day_from, day_to, **kwargs) for day_from, day_to in days]

    def _aggregate(self, first: date, last: date, **kwargs: Any) -> sa.Select[Any]:
        return aggregate(self.scope, first, last, by_lines=self.by_lines, dialect=self.dialect, **kwargs)

    def _lines(self, conn: sa.Connection, first: date, last: date, **kwargs: Any) -> Sequence[Any]:
        return conn.execute(self._aggregate(first, last, **kwargs)).all()


def _whole_months(first: date, last: date) -> tuple[date, date] | None:
    """The first of the first whole month in the range and the first after its last one."""
    start = first if first.day == 1 else add_months(first.replace(day=1), 1)
    end = (last + timedelta(days=1)).replace(day=1)
    return (start, end) if start < end else None


def summarize(conn: sa.Connection, ctx: ViewContext, params: SummaryParams) -> SummaryDto:
    plan = _plan(conn, ctx, params)
    home = home_currency(conn, ctx)
    total, periods = _over_periods(conn, plan, home, plan.first, plan.last)
    comparison = _comparison(conn, plan, home, params, total) if params.compare_to else None
    groups, group_count = _groups(conn, plan, home, params) if plan.group_by else ([], 0)
    return SummaryDto(
        measure=params.measure,
        period=plan.period,
        date_from=plan.first,
        date_to=plan.last,
        group_by=plan.group_by,
        rank_by=params.rank_by if plan.group_by else None,
        home_currency_iso_code=home.iso_code,
        total=total,
        periods=periods,
        comparison=comparison,
        groups=groups,
        group_count=group_count,
        truncated=group_count > len(groups),
    )


def _plan(conn: sa.Connection, ctx: ViewContext, params: SummaryParams) -> Plan:
    last = params.date_to or ctx.today
    first = params.date_from or period_start(last, params.period)
    if first > last:
        raise BadRequest("Invalid parameter 'from': must be on or before 'to'")
    if len(starts(first, last, params.period)) > MAX_PERIODS:
        raise BadRequest(
            f"Invalid parameter 'period': {params.period} gives more than {MAX_PERIODS} periods "
            "from 'from' to 'to'; choose a longer period or a shorter range"
        )
    party = PARTY[params.measure]
    if params.group_by in ("customer", "vendor") and params.group_by != party:
        raise BadRequest(
            f"Invalid parameter 'groupBy': {params.measure} group by {party}, not {params.group_by}"
        )
    wrong_id = "vendorId" if party == "customer" else "customerId"
    if (params.vendor_id if party == "customer" else params.customer_id) is not None:
        raise BadRequest(f"Invalid parameter '{wrong_id}': {params.measure} are filtered by {party}Id")
    if params.rank_by == "quantity" and params.group_by != "product":
        raise BadRequest("Invalid parameter 'rankBy': quantity ranks products only (groupBy=product)")
    party_id = params.customer_id if party == "customer" else params.vendor_id
    scope = Scope(params.measure, party_id=party_id, product_id=params.product_id)
    by_lines = params.group_by == "product" or params.product_id is not None
    by_month = (
        by_lines and kept_by_month(scope, params.period, params.group_by) and line_months.months_kept(conn)
    )
    return Plan(scope, first, last, params.period, conn.dialect.name, by_lines, params.group_by, by_month)


def _over_periods(
    conn: sa.Connection, plan: Plan, home: HomeCurrency, first: date, last: date
) -> tuple[Figures, list[PeriodFigures]]:
    per_period: dict[date, Sums] = defaultdict(Sums)
    total = Sums()
    for row in plan.query(conn, first, last, period=plan.period):
        per_period[as_date(row.Start)].add(row)
        total.add(row)
    periods = [_period(start, per_period[start], plan, home) for start in starts(first, last, plan.period)]
    return _figures(total, plan, home), periods


def _period(start: date, sums: Sums, plan: Plan, home: HomeCurrency) -> PeriodFigures:
    return PeriodFigures(
        period=label(start, plan.period),
        start=start,
        amount_home=sums.home(home),
        quantity=_quantity(sums, plan),
        document_count=sums.documents,
    )


def _quantity(sums: Sums, plan: Plan) -> Decimal | None:
    return (sums.quantity or Decimal(0)) if plan.by_lines else None


def _figures(sums: Sums, plan: Plan, home: HomeCurrency) -> Figures:
    by_currency = [
        CurrencyAmount(
            currency_iso_code=home.rate(cid).iso_code, amount=amount, amount_home=home.convert(amount, cid)
        )
        for cid, amount in sorted(sums.amounts.items(), key=lambda item: home.rate(item[0]).iso_code)
    ]
    return Figures(
        amount_home=sums.home(home),
        quantity=_quantity(sums, plan),
        document_count=sums.documents,
        by_currency=by_currency,
    )


def _comparison(
    conn: sa.Connection, plan: Plan, home: HomeCurrency, params: SummaryParams, current: Figures
) -> Comparison:
    assert params.compare_to is not None
    shift = comparison_shift(plan.first, plan.last, plan.period, params.compare_to)
    first, last = shift.back(plan.first), shift.back(plan.last)
    total, periods = _over_periods(conn, plan, home, first, last)
    return Comparison(
        date_from=first,
        date_to=last,
        total=total,
        change_home=current.amount_home - total.amount_home,
        change_percent=percent(current.amount_home - total.amount_home, total.amount_home),
        periods=periods,
    )


def _fold(rows: Iterable[Any]) -> dict[Any, Sums]:
    sums: dict[Any, Sums] = defaultdict(Sums)
    for row in rows:
        sums[row.GroupKey].add(row)
    return sums


def _groups(
    conn: sa.Connection, plan: Plan, home: HomeCurrency, params: SummaryParams
) -> tuple[list[GroupFigures], int]:
    per_group, group_count = _top_groups(conn, plan, home, params)
    top = _ranked(per_group, home, params.rank_by)[: min(params.top, MAX_TOP)]
    period_starts = starts(plan.first, plan.last, plan.period)
    per_period: dict[Any, dict[date, Sums]] = defaultdict(lambda: defaultdict(Sums))
    if len(period_starts) == 1:  # one period: the groups' sums are its sums, no second pass
        per_period.update({key: {period_starts[0]: per_group[key]} for key in top})
    else:
        rows = plan.query(
            conn, plan.first, plan.last, period=plan.period, group_by=plan.group_by, only_groups=top
        )
        for row in rows:
            per_period[row.GroupKey][as_date(row.Start)].add(row)
    compared = _compared(conn, plan, params, top)
    names = _names(conn, plan.group_by, top, home)
    groups = [
        _group(
            key,
            per_group[key],
            names.get(key, ("(no product)", None)),
            [per_period[key][start].home(home) for start in period_starts],
            compared[key].home(home) if compared is not None else None,
            plan,
            home,
        )
        for key in top
    ]
    return groups, group_count


def _top_groups(
    conn: sa.Connection, plan: Plan, home: HomeCurrency, params: SummaryParams
) -> tuple[dict[Any, Sums], int]:
    """Every group's sums and their number; from the kept months only the top groups', ranked
    in the database (tens of thousands of sums per product and currency are not brought here)."""
    if not plan.by_month:
        per_group = _fold(plan.query(conn, plan.first, plan.last, group_by=plan.group_by))
        return per_group, len(per_group)
    stmt = top_groups(
        plan.statements(plan.first, plan.last, group_by=plan.group_by),
        {cid: rate.to_home for cid, rate in home.rates.items()},
        by_quantity=params.rank_by == "quantity",
        top=min(params.top, MAX_TOP),
        dialect=plan.dialect,
    )
    rows = conn.execute(stmt).all()
    return _fold(rows), rows[0].GroupCount if rows else 0


def _ranked(per_group: dict[Any, Sums], home: HomeCurrency, rank_by: RankBy) -> list[Any]:
    def size(key: Any) -> tuple[Decimal, int]:
        sums = per_group[key]
        value = (sums.quantity or Decimal(0)) if rank_by == "quantity" else sums.home(home)
        return (-value, key if key is not None else -1)

    return sorted(per_group, key=size)


def _compared(
    conn: sa.Connection, plan: Plan, params: SummaryParams, top: list[Any]
) -> dict[Any, Sums] | None:
    if params.compare_to is None:
        return None
    shift = comparison_shift(plan.first, plan.last, plan.period, params.compare_to)
    rows = plan.query(
        conn, shift.back(plan.first), shift.back(plan.last), group_by=plan.group_by, only_groups=top
    )
    return _fold(rows)


def _group(
    key: Any,
    sums: Sums,
    name: tuple[str, str | None],
    period_amounts: list[Decimal],
    comparison: Decimal | None,
    plan: Plan,
    home: HomeCurrency,
) -> GroupFigures:
    single = next(iter(sums.amounts.items())) if len(sums.amounts) == 1 else None
    return GroupFigures(
        id=key,
        number=name[1],
        name=name[0],
        amount_home=sums.home(home),
        amount=single[1] if single else None,
        currency_iso_code=home.rate(single[0]).iso_code if single else None,
        quantity=_quantity(sums, plan),
        document_count=sums.documents,
        period_amounts_home=period_amounts,
        comparison_amount_home=comparison,
    )


def _names(
    conn: sa.Connection, group_by: GroupBy | None, keys: list[Any], home: HomeCurrency
) -> dict[Any, tuple[str, str | None]]:
    present = [key for key in keys if key is not None]
    if group_by == "currency":
        return {key: (home.rate(key).iso_code, None) for key in present}
    if group_by == "product":
        p = s.products
        rows = conn.execute(sa.select(p.c.Id, p.c.Description, p.c.ProductNumber).where(p.c.Id.in_(present)))
        return {row.Id: (row.Description, row.ProductNumber) for row in rows}
    c = s.companies
    rows = conn.execute(sa.select(c.c.Id, c.c.Name).where(c.c.Id.in_(present)))
    return {row.Id: (row.Name, None) for row in rows}


register(
    View(
        name="summary",
        tool="summarize",
        method="GET",
        path="/summary",
        params=SummaryParams,
        result=SummaryDto,
        query=summarize,
        title="Sales, order intake or purchases per period, added up in the database",
        description=(
            "Totals instead of rows: adds up `measure` (sales: invoiced ex VAT with credit notes "
            "netted, by invoice date; orderIntake: orders taken, by order date; purchases: "
            "purchase orders placed, by order date) from `from` to `to` (default: this month so "
            "far), per `period` (day, week, month, quarter, year). Amounts are in the home "
            "currency (`amountHome`) with the split per document currency in `total.byCurrency`. "
            "compareTo=previousPeriod or previousYear adds the same figures for the comparison "
            "range and the change. groupBy=customer/vendor/product/currency with `top` and "
            "rankBy=value|quantity gives the top N (quantity: groupBy=product). Answers 'sales "
            "this month against last month', 'order intake per week this quarter', 'top 10 "
            "customers this year', 'best-selling products by quantity', 'purchases per vendor'. "
            "Never add up pages of list_sales_invoices for this. Use get_receivables for what is "
            "unpaid."
        ),
    )
)
