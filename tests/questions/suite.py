"""The questions a finance or operations team asks every week, each with the tool calls an
assistant makes (through a real MCP client) and the answer worked out from the database by the
suite's own SQL (tests/questions/oracle.py). A question is answered when both agree exactly,
within 3 tool calls and 8,000 tokens of tool text (characters / 4)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from mcp.client.session import ClientSession

from tests.questions.oracle import (
    BUCKETS,
    Books,
    cents,
    moment,
    month_end,
    month_start,
    months_back,
    plain,
    quarter_start,
    week_start,
)

MAX_CALLS = 3
MAX_TOKENS = 8000


@dataclass
class Call:
    tool: str
    arguments: dict[str, Any]
    tokens: float


class ToolError(Exception):
    def __init__(self, tool: str, text: str) -> None:
        super().__init__(f"{tool}: {text}")
        self.tool, self.text = tool, text


@dataclass
class Assistant:
    """What the assistant does: call tools and read their text, which is what costs tokens."""

    session: ClientSession
    calls: list[Call] = field(default_factory=list)

    async def __call__(self, tool: str, **arguments: Any) -> Any:
        result = await self.session.call_tool(tool, arguments)
        text = "".join(getattr(part, "text", "") for part in result.content)
        self.calls.append(Call(tool, arguments, len(text) / 4))
        if result.is_error:
            raise ToolError(tool, text)
        return json.loads(text, parse_float=Decimal)

    @property
    def tokens(self) -> float:
        return sum(call.tokens for call in self.calls)


NOT_FILLED = "notFilled"


@dataclass(frozen=True)
class Refusal:
    """The expected answer where the tenant's source cannot fill a view the question needs: the
    tool that refuses, the source it names and what the source lacks (tools/capabilities.py)."""

    tool: str
    source: str
    lacking: str
    code: str = "not_in_source"  # the error's code; NOT_FILLED where the profile says it


@dataclass(frozen=True)
class Refused:
    """The answer the assistant got instead of data: the tool and its error envelope (or the
    profile's word that the source does not fill a view)."""

    tool: str
    code: str
    message: str

    def says(self, expected: Refusal) -> bool:
        return (
            self.tool == expected.tool
            and self.code == expected.code
            and expected.source in self.message
            and expected.lacking in self.message
        )


def not_filled(profile: dict[str, Any], view: str) -> Refused | None:
    """The company profile's word that the tenant's source does not fill ``view``."""
    entry = next(v for v in profile["views"] if v["view"] == view)
    if entry["filled"]:
        return None
    return Refused("get_company_profile", NOT_FILLED, f"{profile['source']}: {entry['missing']}")


@dataclass(frozen=True)
class Facts:
    """What the question is about: things a user would name, picked from the data by SQL."""

    today: date
    home: str
    values: dict[str, Any]
    notes: dict[str, str] = field(default_factory=dict)  # per question: how the data shaped it

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


Plan = Callable[[Assistant, Facts], Awaitable[Any]]
Oracle = Callable[[Books, Facts], Any]
# For a verdict only the matching scorer gives (which drafts are ready to auto-match): the suite's
# SQL counts the lines, and the per-draft suggest endpoint (GET /purchase-invoice-matches/{id},
# a REST client of the same server, outside the assistant's budget) says which are auto-eligible.
Rest = Callable[[str], Awaitable[Any]]
Referee = Callable[[Books, Facts, Rest], Awaitable[Any]]
# What a question's plan reads, in the order it calls: a view, and the arguments that matter to a
# source that cannot answer some of them (summary's measure). A tenant whose source cannot fill
# one of them has the refusal as its answer (tests/questions/run.py).
Need = tuple[str, dict[str, str]]
# The tool that answers each view on the MCP door (the suite's own list, checked on every run:
# the calls a plan makes are its needs' tools, in order).
TOOLS = {
    "company-profile": "get_company_profile",
    "customers": "list_customers",
    "open-order-lines": "list_open_order_lines",
    "receivables": "get_receivables",
    "products-find": "find_products",
    "purchase-invoice-drafts": "list_purchase_invoice_drafts",
    "purchase-orders": "list_purchase_orders",
    "sales-invoices": "list_sales_invoices",
    "summary": "summarize",
    "vendor-prices": "list_vendor_prices",
    "warehouse-stock": "list_warehouse_stock",
}


def needs(*views: str, **arguments: str) -> tuple[Need, ...]:
    """The views in calling order; ``arguments`` go with the last one."""
    return tuple((view, arguments if n == len(views) - 1 else {}) for n, view in enumerate(views))


@dataclass(frozen=True)
class Question:
    name: str
    kind: str
    text: str
    plan: Plan
    oracle: Oracle
    needs: tuple[Need, ...]
    referee: Referee | None = None
    # the view whose data the question is about when the plan reads it elsewhere (the profile's
    # warehouses are warehouse-stock's): a source that cannot fill it has the profile say so
    about: str | None = None

    def asked(self, facts: Facts) -> str:
        return self.text.format(home=facts.home, **facts.values)


QUESTIONS: list[Question] = []


def question(
    name: str,
    kind: str,
    text: str,
    oracle: Oracle,
    uses: tuple[Need, ...],
    referee: Referee | None = None,
    about: str | None = None,
) -> Callable[[Plan], Plan]:
    def add(plan: Plan) -> Plan:
        QUESTIONS.append(Question(name, kind, text, plan, oracle, uses, referee, about))
        return plan

    return add


# -- facts: what the user names in a question ---------------------------------------------


def facts_of(books: Books) -> Facts:
    today = books.today
    year_docs = books.sales(today.replace(month=1, day=1), today)
    busiest = _most_common(d.CompanyId for d in year_docs)
    lines = books.lines_of(year_docs)
    product = _most_common(line.product_id for line in lines if line.product_id is not None)
    owing, notes = _owing_customer(books)
    stocked = _most_common(r.ProductId for r in books.rows('SELECT "ProductId" FROM "ProductStock"'))
    late_lines = books.late_lines()

    def named(key: Any, what: str, name: Callable[[Books, Any], str], fallback: Any, *asking: str) -> str:
        """The record a question names; where the books hold none like it (a source without
        stock, supplier prices or order lines), the question is asked of ``fallback`` and the
        run says so."""
        if key is None:
            key = fallback
            for q in asking:
                notes[q] = f"no {what} in the books: asked of {name(books, key)}"
        return name(books, key)

    values = {
        "customer": _company_name(books, busiest),
        "owing_customer": _company_name(books, owing),
        "product_number": _product_number(books, product),
        "stocked_product": named(stocked, "stock", _product_number, product, "stock-per-warehouse"),
        "threshold": 10000 if books.home == "SEK" else 1000,
        "open_threshold": 50000 if books.home == "SEK" else 5000,
        "since": month_start(months_back(today, 1)).isoformat(),
        "foreign": _foreign_currency(books, notes),
        "late_customer": named(
            _most_common(i.customer_id for i in books.late_invoices()),
            "late invoice",
            _company_name,
            busiest,
            "customer-late-invoices",
        ),
        "late_lines_customer": named(
            _most_common(r.customer_id for r in late_lines),
            "late order line",
            _company_name,
            busiest,
            "customer-late-lines",
        ),
        "late_product": named(
            _most_common(r.product_id for r in late_lines if r.product_id is not None),
            "late order line",
            _product_number,
            product,
            "product-late-lines",
        ),
        "priced_product": named(
            _priced_product(books),
            "supplier price",
            _product_number,
            product,
            "cheapest-valid-price",
            "valid-prices-ranked",
        ),
        "typed_word": _typed_word(books, notes),
        "typed_words": _typed_words(books),
    }
    return Facts(today, books.home, values, notes)


def _foreign_currency(books: Books, notes: dict[str, str]) -> str:
    """EUR for a SEK company, SEK for another; a currency the books do hold when they have not
    that one; the home currency itself (its rate is 1) when the books hold no other, and the run
    says so."""
    preferred = "EUR" if books.home == "SEK" else "SEK"
    held = sorted(set(books.iso().values()) - {books.home})
    if preferred in held:
        return preferred
    if held:
        notes["foreign-rate"] = f"no {preferred} in the books: asked of {held[0]}"
        return held[0]
    notes["foreign-rate"] = f"no currency but {books.home} in the books: asked of {books.home} itself"
    return books.home


def _priced_product(books: Books) -> int | None:
    """A product whose cheapest price is not valid today but which has a valid one (the trap of
    a list sorted by price alone); the product with the most prices when none is like that; None
    when there are no prices."""
    prices = books.vendor_prices()
    by_product: dict[int, list[Any]] = defaultdict(list)
    for price in prices:
        by_product[price.product_id].append(price)
    trapped = [
        product
        for product, rows in by_product.items()
        if any(r.valid for r in rows) and not min(rows, key=lambda r: r.rank).valid
    ]
    if not by_product:
        return None
    return min(trapped or by_product, key=lambda k: (-len(by_product[k]), k))


def _typed_word(books: Books, notes: dict[str, str]) -> str:
    """'horselskydd' (hearing protection, typed without its diacritic); where no product is one,
    a word with a diacritic of the last product description that has one, typed without it, and
    the run says so."""
    if books.products_with_words("horselskydd"):
        return "horselskydd"
    for row in books.rows('SELECT "Description" FROM "Product" ORDER BY "Id" DESC'):
        for word in re.findall(r"[^\W\d_]{3,}", row.Description):
            if plain(word) != word.lower():
                notes["search-without-diacritics"] = (
                    f"no product is a 'horselskydd': asked of '{plain(word)}'"
                )
                return plain(word)
    raise LookupError("no product description with a diacritic")


def _typed_words(books: Books) -> str:
    """Two words of a product description with diacritics, as a person types them: in the other
    order, lower case, without the diacritics."""
    rows = books.rows('SELECT "Description" FROM "Product" ORDER BY "Id"')
    for row in rows:
        found = [w for w in re.findall(r"[^\W\d_]{3,}", row.Description)]
        if len(found) >= 2 and any(plain(w) != w.lower() for w in found):
            return f"{plain(found[1])} {plain(found[0])}"
    raise LookupError("no product description with two words and a diacritic")


def _most_common(keys: Any) -> Any:
    """The most frequent key (the smallest of equals); None when there is none."""
    counts: dict[Any, int] = defaultdict(int)
    for key in keys:
        counts[key] += 1
    return min(counts, key=lambda k: (-counts[k], k), default=None)


def _owing_customer(books: Books) -> tuple[int, dict[str, str]]:
    """The customer owing most among those with a credit limit. A source that keeps no credit
    limits (Fortnox's customers have no such field) gives the one owing most, whose credit
    left is then "no limit set" (null), and the run says so."""
    aging = books.aging()
    limits = {r.Id for r in books.rows('SELECT "Id" FROM "Company" WHERE "CreditLimit" IS NOT NULL')}
    notes: dict[str, str] = {}
    if not limits:
        limits = set(aging)
        notes["customer-open-and-headroom"] = (
            "no customer has a credit limit: credit left is null (no limit set)"
        )
    return max(limits & set(aging), key=lambda c: (aging[c]["open"], -c)), notes


def _company_name(books: Books, company_id: int) -> str:
    return str(books.rows('SELECT "Name" FROM "Company" WHERE "Id" = :id', id=company_id)[0].Name)


def _product_number(books: Books, product_id: int) -> str:
    return str(
        books.rows('SELECT "ProductNumber" FROM "Product" WHERE "Id" = :id', id=product_id)[0].ProductNumber
    )


def _customer_id(books: Books, name: str) -> int:
    return int(
        books.rows('SELECT "Id" FROM "Company" WHERE "Name" = :n AND "IsCustomer" = TRUE', n=name)[0].Id
    )


def _product_id(books: Books, number: str) -> int:
    return int(books.rows('SELECT "Id" FROM "Product" WHERE "ProductNumber" = :n', n=number)[0].Id)


# -- the oracle's groupings -----------------------------------------------------------------


def per_period(books: Books, documents: list[Any], start_of: Callable[[date], date]) -> dict[date, Decimal]:
    groups: dict[date, list[Any]] = defaultdict(list)
    for d in documents:
        groups[start_of(moment(d.Day).date())].append(d)  # type: ignore[union-attr]
    return {start: books.total(docs) for start, docs in groups.items()}


def per_company(books: Books, documents: list[Any]) -> dict[int, Decimal]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for d in documents:
        groups[d.CompanyId].append(d)
    return {key: books.total(docs) for key, docs in groups.items()}


def per_product(books: Books, documents: list[Any]) -> dict[Any, tuple[Decimal, Decimal]]:
    """Per product: amount in the home currency (each currency's line sum converted once), units."""
    amounts: dict[Any, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    units: dict[Any, Decimal] = defaultdict(Decimal)
    for line in books.lines_of(documents):
        amounts[line.product_id][line.document.CurrencyId] += line.amount
        units[line.product_id] += line.quantity
    return {key: (books.in_home(amounts[key]), units[key]) for key in amounts}


def top(values: dict[Any, Decimal], n: int) -> list[tuple[Any, Decimal]]:
    ordered = sorted(values, key=lambda k: (-values[k], k if k is not None else -1))
    return [(k, values[k]) for k in ordered[:n]]


def months_until(today: date, first: date) -> list[date]:
    result, start = [], first
    while start <= today:
        result.append(start)
        start = (start + timedelta(days=32)).replace(day=1)
    return result


def periods(summary: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return [(p["period"], p["amountHome"]) for p in summary["periods"]]


def jan1(day: date) -> date:
    return day.replace(month=1, day=1)


# -- what the figures mean --------------------------------------------------------------------


@question(
    "today-and-currency",
    "context",
    "What is today's date, and in which currency are our figures?",
    lambda books, f: (f.today.isoformat(), books.home),
    uses=needs("company-profile"),
)
async def _today(ask: Assistant, f: Facts) -> Any:
    profile = await ask("get_company_profile")
    return (profile["today"], profile["homeCurrencyIsoCode"])


@question(
    "revenue-statuses",
    "context",
    "Which order statuses count as revenue?",
    lambda books, f: sorted(
        r.Name for r in books.rows('SELECT "Name" FROM "OrderStatus" WHERE "IsSales" = TRUE')
    ),
    uses=needs("company-profile"),
)
async def _revenue_statuses(ask: Assistant, f: Facts) -> Any:
    profile = await ask("get_company_profile")
    return sorted(s["name"] for t in profile["documentTypes"] for s in t["statuses"] if s["isSales"])


@question(
    "warehouses",
    "context",
    "Which warehouses do we have, and how many locations does each have?",
    lambda books, f: sorted(
        (r.Name, r.N)
        for r in books.rows(
            'SELECT w."Name", COUNT(l."Id") AS "N" FROM "Warehouse" w '
            'LEFT JOIN "WarehouseLocation" l ON l."WarehouseId" = w."Id" GROUP BY w."Id", w."Name"'
        )
    ),
    uses=needs("company-profile"),
    about="warehouse-stock",
)
async def _warehouses(ask: Assistant, f: Facts) -> Any:
    profile = await ask("get_company_profile")
    if said := not_filled(profile, "warehouse-stock"):
        return said  # "none" would be wrong: the source keeps no warehouses
    return sorted((w["name"], w["locationCount"]) for w in profile["warehouses"])


@question(
    "foreign-rate",
    "context",
    "At what rate do {foreign} amounts convert into {home}?",
    lambda books, f: next(rate for cid, rate in books.rates().items() if books.iso()[cid] == f["foreign"]),
    uses=needs("company-profile"),
)
async def _rate(ask: Assistant, f: Facts) -> Any:
    profile = await ask("get_company_profile")
    return next(c["rateToHome"] for c in profile["currencies"] if c["currencyIsoCode"] == f["foreign"])


# -- revenue and order intake per period ---------------------------------------------------


@question(
    "sales-this-month",
    "revenue per period",
    "What are our sales this month so far?",
    lambda books, f: books.total(books.sales(month_start(f.today), f.today)),
    uses=needs("summary", measure="sales"),
)
async def _sales_mtd(ask: Assistant, f: Facts) -> Any:
    return (await ask("summarize", measure="sales"))["total"]["amountHome"]


@question(
    "sales-month-vs-last",
    "period against period",
    "How do sales this month compare with the same days last month?",
    lambda books, f: (
        books.total(books.sales(month_start(f.today), f.today)),
        books.total(books.sales(months_back(month_start(f.today), 1), months_back(f.today, 1))),
    ),
    uses=needs("summary", measure="sales"),
)
async def _sales_mom(ask: Assistant, f: Facts) -> Any:
    summary = await ask("summarize", measure="sales", compareTo="previousPeriod")
    return (summary["total"]["amountHome"], summary["comparison"]["total"]["amountHome"])


@question(
    "last-month-vs-prior",
    "period against period",
    "How did last month's sales compare with the month before?",
    lambda books, f: (
        books.total(books.sales(months_back(month_start(f.today), 1), month_end(months_back(f.today, 1)))),
        books.total(books.sales(months_back(month_start(f.today), 2), month_end(months_back(f.today, 2)))),
    ),
    uses=needs("summary", measure="sales"),
)
async def _last_month(ask: Assistant, f: Facts) -> Any:
    first = months_back(month_start(f.today), 1)
    summary = await ask(
        "summarize",
        measure="sales",
        **{"from": first.isoformat(), "to": month_end(first).isoformat()},
        compareTo="previousPeriod",
    )
    return (summary["total"]["amountHome"], summary["comparison"]["total"]["amountHome"])


def _monthly_sales_oracle(books: Books, f: Facts) -> list[tuple[str, Decimal]]:
    totals = per_period(books, books.sales(jan1(f.today), f.today), month_start)
    return [(f"{m:%Y-%m}", totals.get(m, Decimal(0))) for m in months_until(f.today, jan1(f.today))]


@question(
    "sales-per-month",
    "revenue per period",
    "What were our sales per month this year?",
    _monthly_sales_oracle,
    uses=needs("summary", measure="sales"),
)
async def _sales_per_month(ask: Assistant, f: Facts) -> Any:
    return periods(
        await ask("summarize", measure="sales", period="month", **{"from": jan1(f.today).isoformat()})
    )


@question(
    "best-month",
    "revenue per period",
    "Which month this year had the highest sales?",
    lambda books, f: max(_monthly_sales_oracle(books, f), key=lambda p: p[1])[0],
    uses=needs("summary", measure="sales"),
)
async def _best_month(ask: Assistant, f: Facts) -> Any:
    summary = await ask("summarize", measure="sales", period="month", **{"from": jan1(f.today).isoformat()})
    return max(periods(summary), key=lambda p: p[1])[0]


def _quarters_oracle(books: Books, f: Facts) -> list[tuple[str, Decimal, Decimal]]:
    year = f.today.year - 1
    now = per_period(books, books.sales(date(year, 1, 1), date(year, 12, 31)), quarter_start)
    before = per_period(books, books.sales(date(year - 1, 1, 1), date(year - 1, 12, 31)), quarter_start)
    return [
        (
            f"{year}-Q{q}",
            now.get(date(year, 3 * q - 2, 1), Decimal(0)),
            before.get(date(year - 1, 3 * q - 2, 1), Decimal(0)),
        )
        for q in range(1, 5)
    ]


@question(
    "quarters-vs-year-before",
    "period against period",
    "What were sales per quarter last year, against the year before?",
    _quarters_oracle,
    uses=needs("summary", measure="sales"),
)
async def _quarters(ask: Assistant, f: Facts) -> Any:
    year = f.today.year - 1
    summary = await ask(
        "summarize",
        measure="sales",
        period="quarter",
        compareTo="previousYear",
        **{"from": f"{year}-01-01", "to": f"{year}-12-31"},
    )
    before = [p["amountHome"] for p in summary["comparison"]["periods"]]
    return [(label, amount, before[i]) for i, (label, amount) in enumerate(periods(summary))]


def _last_week(today: date) -> tuple[date, date]:
    monday = week_start(today) - timedelta(days=7)
    return monday, monday + timedelta(days=6)


@question(
    "sales-per-day-last-week",
    "revenue per period",
    "What did we invoice each day last week?",
    lambda books, f: [
        (
            day.isoformat(),
            per_period(books, books.sales(*_last_week(f.today)), lambda d: d).get(day, Decimal(0)),
        )
        for day in (_last_week(f.today)[0] + timedelta(days=n) for n in range(7))
    ],
    uses=needs("summary", measure="sales"),
)
async def _per_day(ask: Assistant, f: Facts) -> Any:
    first, last = _last_week(f.today)
    return periods(
        await ask(
            "summarize", measure="sales", period="day", **{"from": first.isoformat(), "to": last.isoformat()}
        )
    )


def _weekly_intake_oracle(books: Books, f: Facts) -> list[tuple[str, Decimal]]:
    first = quarter_start(f.today)
    totals = per_period(books, books.intake(first, f.today), week_start)
    weeks, start = [], week_start(first)
    while start <= f.today:
        year, week, _ = start.isocalendar()
        weeks.append((f"{year}-W{week:02d}", totals.get(start, Decimal(0))))
        start += timedelta(days=7)
    return weeks


@question(
    "intake-per-week",
    "order intake per period",
    "What was our order intake per week this quarter?",
    _weekly_intake_oracle,
    uses=needs("summary", measure="orderIntake"),
)
async def _intake_weekly(ask: Assistant, f: Facts) -> Any:
    return periods(
        await ask(
            "summarize", measure="orderIntake", period="week", **{"from": quarter_start(f.today).isoformat()}
        )
    )


@question(
    "intake-ytd-vs-last-year",
    "period against period",
    "How does order intake so far this year compare with the same period last year?",
    lambda books, f: (
        books.total(books.intake(jan1(f.today), f.today)),
        books.total(books.intake(months_back(jan1(f.today), 12), months_back(f.today, 12))),
    ),
    uses=needs("summary", measure="orderIntake"),
)
async def _intake_yoy(ask: Assistant, f: Facts) -> Any:
    summary = await ask(
        "summarize",
        measure="orderIntake",
        period="year",
        compareTo="previousYear",
        **{"from": jan1(f.today).isoformat()},
    )
    return (summary["total"]["amountHome"], summary["comparison"]["total"]["amountHome"])


def _by_currency_oracle(books: Books, f: Facts) -> dict[str, tuple[Decimal, Decimal]]:
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for d in books.sales(jan1(f.today), f.today):
        sums[d.CurrencyId] += cents(d.TotalExVat)
    iso = books.iso()
    return {iso[cid]: (amount, books.in_home({cid: amount})) for cid, amount in sums.items()}


@question(
    "sales-by-currency",
    "revenue per period",
    "How much did we invoice in each currency this year?",
    _by_currency_oracle,
    uses=needs("summary", measure="sales"),
)
async def _by_currency(ask: Assistant, f: Facts) -> Any:
    summary = await ask("summarize", measure="sales", period="year", groupBy="currency")
    return {g["name"]: (g["amount"], g["amountHome"]) for g in summary["groups"]}


# -- top customers, products, vendors --------------------------------------------------------


@question(
    "top-customers",
    "top N",
    "Who are our five biggest customers by sales this year?",
    lambda books, f: top(per_company(books, books.sales(jan1(f.today), f.today)), 5),
    uses=needs("summary", measure="sales"),
)
async def _top_customers(ask: Assistant, f: Facts) -> Any:
    summary = await ask("summarize", measure="sales", period="year", groupBy="customer", top=5)
    return [(g["id"], g["amountHome"]) for g in summary["groups"]]


@question(
    "top-products-by-units",
    "top N",
    "Which five products sold the most units this year?",
    lambda books, f: top(
        {k: v[1] for k, v in per_product(books, books.sales(jan1(f.today), f.today)).items()}, 5
    ),
    uses=needs("summary", measure="sales"),
)
async def _top_units(ask: Assistant, f: Facts) -> Any:
    summary = await ask(
        "summarize", measure="sales", period="year", groupBy="product", rankBy="quantity", top=5
    )
    return [(g["id"], g["quantity"]) for g in summary["groups"]]


def _top_products_yoy_oracle(books: Books, f: Facts) -> list[tuple[Any, Decimal, Decimal]]:
    now = per_product(books, books.sales(jan1(f.today), f.today))
    before = per_product(books, books.sales(months_back(jan1(f.today), 12), months_back(f.today, 12)))
    leaders = top({k: v[0] for k, v in now.items()}, 3)
    return [(k, amount, before.get(k, (Decimal(0), Decimal(0)))[0]) for k, amount in leaders]


@question(
    "top-products-vs-last-year",
    "top N",
    "What are our three best-selling products by value this year, and what did they sell by this time "
    "last year?",
    _top_products_yoy_oracle,
    uses=needs("summary", measure="sales"),
)
async def _top_products_yoy(ask: Assistant, f: Facts) -> Any:
    summary = await ask(
        "summarize", measure="sales", period="year", groupBy="product", top=3, compareTo="previousYear"
    )
    return [(g["id"], g["amountHome"], g["comparisonAmountHome"]) for g in summary["groups"]]


@question(
    "top-vendors",
    "top N",
    "Which three vendors did we buy the most from this year?",
    lambda books, f: top(per_company(books, books.purchases(jan1(f.today), f.today)), 3),
    uses=needs("summary", measure="purchases"),
)
async def _top_vendors(ask: Assistant, f: Facts) -> Any:
    summary = await ask("summarize", measure="purchases", period="year", groupBy="vendor", top=3)
    return [(g["id"], g["amountHome"]) for g in summary["groups"]]


@question(
    "purchases-per-month",
    "purchases per period",
    "What did we purchase per month this quarter?",
    lambda books, f: [
        (
            f"{m:%Y-%m}",
            per_period(books, books.purchases(quarter_start(f.today), f.today), month_start).get(
                m, Decimal(0)
            ),
        )
        for m in months_until(f.today, quarter_start(f.today))
    ],
    uses=needs("summary", measure="purchases"),
)
async def _purchases_monthly(ask: Assistant, f: Facts) -> Any:
    return periods(
        await ask("summarize", measure="purchases", **{"from": quarter_start(f.today).isoformat()})
    )


@question(
    "customer-this-year-vs-last",
    "period against period",
    "How much has {customer} bought this year, compared with the same period last year?",
    lambda books, f: tuple(
        books.total([d for d in docs if d.CompanyId == _customer_id(books, f["customer"])])
        for docs in (
            books.sales(jan1(f.today), f.today),
            books.sales(months_back(jan1(f.today), 12), months_back(f.today, 12)),
        )
    ),
    uses=needs("customers", "summary", measure="sales"),
)
async def _customer_yoy(ask: Assistant, f: Facts) -> Any:
    found = await ask("list_customers", q=f["customer"], pageSize=5)
    customer = next(c["id"] for c in found["items"] if c["name"] == f["customer"])
    summary = await ask(
        "summarize",
        measure="sales",
        period="year",
        customerId=customer,
        compareTo="previousYear",
        **{"from": jan1(f.today).isoformat()},
    )
    return (summary["total"]["amountHome"], summary["comparison"]["total"]["amountHome"])


@question(
    "product-units-this-year",
    "revenue per period",
    "How many units of {product_number} have we sold this year, and for how much?",
    lambda books, f: tuple(
        reversed(
            per_product(books, books.sales(jan1(f.today), f.today))[_product_id(books, f["product_number"])]
        )
    ),
    uses=needs("products-find", "summary", measure="sales"),
)
async def _product_units(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["product_number"], limit=3)
    product = next(p["productId"] for p in found if p["productNumber"] == f["product_number"])
    summary = await ask("summarize", measure="sales", period="year", productId=product)
    return (summary["total"]["quantity"], summary["total"]["amountHome"])


# -- receivables -------------------------------------------------------------------------------


@question(
    "overdue-above-threshold",
    "receivables",
    "Which customers have more than {threshold} {home} overdue?",
    lambda books, f: {
        c: row["overdue"] for c, row in books.aging().items() if row["overdue"] > f["threshold"]
    },
    uses=needs("receivables"),
)
async def _overdue_above(ask: Assistant, f: Facts) -> Any:
    result = await ask("get_receivables", overdueMin=f["threshold"] + Decimal("0.01"), limit=100)
    assert not result["truncated"]
    return {c["customerId"]: c["overdue"] for c in result["customers"]}


def _aging_totals(books: Books) -> dict[str, Decimal]:
    rows = books.aging().values()
    return {name: sum((r[name] for r in rows), Decimal(0)) for name in (*BUCKETS, "overdue", "open")}


@question(
    "aging",
    "receivables",
    "How old are our receivables: not yet due, 1-30, 31-60, 61-90 and over 90 days overdue?",
    lambda books, f: _aging_totals(books),
    uses=needs("receivables"),
)
async def _aging(ask: Assistant, f: Facts) -> Any:
    return (await ask("get_receivables", limit=1))["totals"]


@question(
    "over-90-and-debtors",
    "receivables",
    "How much is more than 90 days overdue, and how many customers owe us anything?",
    lambda books, f: (_aging_totals(books)["overdueOver90"], len(books.aging())),
    uses=needs("receivables"),
)
async def _over_90(ask: Assistant, f: Facts) -> Any:
    result = await ask("get_receivables", limit=1)
    return (result["totals"]["overdueOver90"], result["customerCount"])


def _owing_oracle(books: Books, f: Facts) -> tuple[Decimal, Decimal, Decimal | None]:
    customer = _customer_id(books, f["owing_customer"])
    row = books.aging()[customer]
    limit_row = books.rows('SELECT "CreditLimit", "CurrencyId" FROM "Company" WHERE "Id" = :id', id=customer)[
        0
    ]
    if limit_row.CreditLimit is None:
        return (row["open"], row["overdue"], None)
    home_id = next(cid for cid, iso in books.iso().items() if iso == books.home)
    limit = books.in_home({limit_row.CurrencyId or home_id: cents(limit_row.CreditLimit)})
    return (row["open"], row["overdue"], limit - row["open"])


@question(
    "customer-open-and-headroom",
    "receivables",
    "What does {owing_customer} owe us, how much of it is overdue, and how much credit is left?",
    _owing_oracle,
    uses=needs("customers", "receivables"),
)
async def _owing(ask: Assistant, f: Facts) -> Any:
    found = await ask("list_customers", q=f["owing_customer"], pageSize=5)
    customer = next(c["id"] for c in found["items"] if c["name"] == f["owing_customer"])
    row = (await ask("get_receivables", customerId=customer))["customers"][0]
    return (row["open"], row["overdue"], row["creditHeadroomHome"])


@question(
    "customers-owing-more-than",
    "receivables",
    "Which customers owe us more than {open_threshold} {home} in total?",
    lambda books, f: {
        c: row["open"] for c, row in books.aging().items() if row["open"] > f["open_threshold"]
    },
    uses=needs("customers"),
)
async def _owing_more(ask: Assistant, f: Facts) -> Any:
    page = await ask(
        "list_customers", openMin=f["open_threshold"] + Decimal("0.01"), pageSize=100, inactive=True
    )
    assert not page["truncated"]
    return {c["id"]: c["openAmountHome"] for c in page["items"]}


# -- purchasing and stock ----------------------------------------------------------------------


def _received_not_invoiced_oracle(books: Books, f: Facts) -> dict[int, Decimal]:
    rows = books.rows(
        """SELECT o."Id", r."Qty", i."Price", i."Discount", r."IsBooked"
           FROM "Orders" o
           JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
           JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
           JOIN "OrderItem" i ON i."OrderId" = o."Id"
           JOIN "InvTransaction" r ON r."OrderItemId" = i."Id"
           WHERE t."SystemName" = 'PURCHASEORDER' AND o."DateOrder" >= :since""",
        since=moment(f["since"] + "T00:00:00"),
    )
    received: dict[int, Decimal] = defaultdict(Decimal)
    booked: dict[int, Decimal] = defaultdict(Decimal)
    for r in rows:
        # at the line's net price: its discount (percent) honoured
        value = Decimal(str(r.Qty)) * Decimal(str(r.Price)) * (100 - Decimal(str(r.Discount))) / 100
        received[r.Id] += value
        if r.IsBooked:
            booked[r.Id] += value
    open_ = {k: cents(received[k]) - cents(booked[k]) for k in received}
    return {k: v for k, v in open_.items() if v > 0}


@question(
    "received-not-invoiced",
    "purchase orders received, not invoiced",
    "Which purchase orders placed since {since} have goods received that are not invoiced yet, and for "
    "how much?",
    _received_not_invoiced_oracle,
    uses=needs("purchase-orders"),
)
async def _received_not_invoiced(ask: Assistant, f: Facts) -> Any:
    page = await ask(
        "list_purchase_orders",
        statusKind="any",
        openToInvoiceMin="0.01",
        orderDateFrom=f["since"],
        pageSize=100,
    )
    assert not page["truncated"]
    return {po["id"]: po["openToInvoiceExVat"] for po in page["items"]}


def _stock_oracle(books: Books, f: Facts) -> dict[int, tuple[Decimal, Decimal]]:
    rows = books.rows(
        'SELECT "WarehouseId", "QtyInStock", "QtyIncoming", "QtyOutgoing" FROM "ProductStock" '
        'WHERE "ProductId" = :p',
        p=_product_id(books, f["stocked_product"]),
    )
    result: dict[int, tuple[Decimal, Decimal]] = {}
    for r in rows:
        stock, incoming, outgoing = (Decimal(str(v)) for v in (r.QtyInStock, r.QtyIncoming, r.QtyOutgoing))
        before = result.get(r.WarehouseId, (Decimal(0), Decimal(0)))
        result[r.WarehouseId] = (before[0] + stock, before[1] + stock - outgoing + incoming)
    return result


@question(
    "stock-per-warehouse",
    "stock",
    "How many {stocked_product} do we have in stock, and how many can we deliver, per warehouse?",
    _stock_oracle,
    uses=needs("products-find", "warehouse-stock"),
)
async def _stock(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["stocked_product"], limit=3)
    product = next(p["productId"] for p in found if p["productNumber"] == f["stocked_product"])
    page = await ask("list_warehouse_stock", productId=product, pageSize=200)
    result: dict[int, tuple[Decimal, Decimal]] = {}
    for row in page["items"]:
        before = result.get(row["warehouseId"], (Decimal(0), Decimal(0)))
        result[row["warehouseId"]] = (before[0] + row["qtyInStock"], before[1] + row["qtyDistributable"])
    return result


# -- invoices and order lines that are late ----------------------------------------------------


def _late_invoices_oracle(books: Books, customer: str | None) -> dict[int, tuple[Decimal, str]]:
    iso = books.iso()
    wanted = None if customer is None else _customer_id(books, customer)
    return {
        inv.id: (inv.amount, iso[inv.currency_id])
        for inv in books.late_invoices()
        if wanted is None or inv.customer_id == wanted
    }


def _invoice_amounts(page: dict[str, Any]) -> dict[int, tuple[Decimal, str]]:
    assert not page["truncated"]
    assert all(row["isLate"] for row in page["items"])
    return {row["id"]: (row["openAmount"], row["currencyIsoCode"]) for row in page["items"]}


@question(
    "late-invoices",
    "late invoices",
    "Which invoices are overdue, and how much is still open on each?",
    lambda books, f: _late_invoices_oracle(books, None),
    uses=needs("sales-invoices"),
)
async def _late_invoices(ask: Assistant, f: Facts) -> Any:
    return _invoice_amounts(await ask("list_sales_invoices", isLate=True, pageSize=100))


@question(
    "customer-late-invoices",
    "late invoices",
    "Which of {late_customer}'s invoices are late, and what is open on them?",
    lambda books, f: _late_invoices_oracle(books, f["late_customer"]),
    uses=needs("customers", "sales-invoices"),
)
async def _customer_late_invoices(ask: Assistant, f: Facts) -> Any:
    found = await ask("list_customers", q=f["late_customer"], pageSize=5)
    customer = next(c["id"] for c in found["items"] if c["name"] == f["late_customer"])
    return _invoice_amounts(await ask("list_sales_invoices", customerId=customer, isLate=True, pageSize=100))


def _late_lines_oracle(books: Books, keep: Callable[[Any], bool]) -> dict[int, tuple[Decimal, str]]:
    iso = books.iso()
    return {line.id: (line.value, iso[line.currency_id]) for line in books.late_lines() if keep(line)}


def _line_values(page: dict[str, Any]) -> dict[int, tuple[Decimal, str]]:
    assert not page["truncated"]
    assert all(row["isLate"] for row in page["items"])
    return {row["lineId"]: (row["openValueExVat"], row["currencyIsoCode"]) for row in page["items"]}


@question(
    "customer-late-lines",
    "late order lines",
    "Which order lines is {late_lines_customer} still waiting for past the promised date, and what "
    "are they worth?",
    lambda books, f: _late_lines_oracle(
        books, lambda line: line.customer_id == _customer_id(books, f["late_lines_customer"])
    ),
    uses=needs("customers", "open-order-lines"),
)
async def _customer_late_lines(ask: Assistant, f: Facts) -> Any:
    found = await ask("list_customers", q=f["late_lines_customer"], pageSize=5)
    customer = next(c["id"] for c in found["items"] if c["name"] == f["late_lines_customer"])
    return _line_values(await ask("list_open_order_lines", customerId=customer, isLate=True, pageSize=100))


@question(
    "product-late-lines",
    "late order lines",
    "Which orders of {late_product} are late, and how much is left to deliver on them (value)?",
    lambda books, f: _late_lines_oracle(
        books, lambda line: line.product_id == _product_id(books, f["late_product"])
    ),
    uses=needs("products-find", "open-order-lines"),
)
async def _product_late_lines(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["late_product"], limit=3)
    product = next(p["productId"] for p in found if p["productNumber"] == f["late_product"])
    return _line_values(await ask("list_open_order_lines", productId=product, isLate=True, pageSize=100))


# -- the cheapest valid vendor price -------------------------------------------------------------


def _valid_prices(books: Books, number: str) -> list[Any]:
    product = _product_id(books, number)
    valid = [p for p in books.vendor_prices() if p.product_id == product and p.valid]
    return sorted(valid, key=lambda p: p.rank)


@question(
    "cheapest-valid-price",
    "cheapest valid vendor price",
    "Which vendor sells {priced_product} cheapest today, and at what price in {home}?",
    lambda books, f: (lambda best: (best.supplier_id, best.home))(
        _valid_prices(books, f["priced_product"])[0]
    ),
    uses=needs("products-find", "vendor-prices"),
)
async def _cheapest_price(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["priced_product"], limit=3)
    product = next(p["productId"] for p in found if p["productNumber"] == f["priced_product"])
    best = (await ask("list_vendor_prices", productId=product, validFirst=True, pageSize=5))["items"][0]
    assert best["isValid"]
    return (best["supplierId"], best["priceHome"])


@question(
    "valid-prices-ranked",
    "cheapest valid vendor price",
    "Which vendors can we buy {priced_product} from at today's prices, cheapest first, with each "
    "price in its currency and in {home}?",
    lambda books, f: [
        (p.supplier_id, p.price, books.iso()[p.currency_id], p.home)
        for p in _valid_prices(books, f["priced_product"])
    ],
    uses=needs("products-find", "vendor-prices"),
)
async def _valid_prices_ranked(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["priced_product"], limit=3)
    product = next(p["productId"] for p in found if p["productNumber"] == f["priced_product"])
    page = await ask("list_vendor_prices", productId=product, validOn=f.today.isoformat(), pageSize=100)
    assert not page["truncated"]
    return [(p["supplierId"], p["price"], p["currencyIsoCode"], p["priceHome"]) for p in page["items"]]


# -- search as a person types -----------------------------------------------------------------


@question(
    "search-without-diacritics",
    "search as typed",
    "Which products do we have that are '{typed_word}'?",
    lambda books, f: books.products_with_words(f["typed_word"]),
    uses=needs("products-find"),
)
async def _search_plain(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["typed_word"], limit=20)
    assert len(found) < 20  # all of them, not a cut-off list
    return {p["productNumber"] for p in found}


@question(
    "search-any-word-order",
    "search as typed",
    "Find the products I mean by '{typed_words}'.",
    lambda books, f: books.products_with_words(f["typed_words"]),
    uses=needs("products-find"),
)
async def _search_words(ask: Assistant, f: Facts) -> Any:
    found = await ask("find_products", q=f["typed_words"], limit=20)
    assert len(found) < 20
    return {p["productNumber"] for p in found}


# -- drafts ready to match automatically --------------------------------------------------------


async def _ready_drafts_referee(books: Books, f: Facts, rest: Rest) -> dict[int, int]:
    """Open drafts and their unmatched lines by the suite's SQL; for each, the suggest endpoint's
    candidates say which unmatched goods lines have an auto-eligible receipt. A draft is ready
    when all of them do; its answer is that count."""
    lines = books.rows(
        'SELECT l."DraftId", l."LineIndex" FROM "PurchaseInvoiceDraftLine" l WHERE NOT EXISTS '
        '(SELECT 1 FROM "PurchaseInvoiceMatch" m WHERE m."DraftId" = l."DraftId" '
        'AND m."LineIndex" = l."LineIndex")'
    )
    unmatched: dict[int, set[int]] = defaultdict(set)
    for row in lines:
        unmatched[row.DraftId].add(row.LineIndex)
    ready = {}
    for draft, indexes in sorted(unmatched.items()):
        response = await rest(f"/purchase-invoice-matches/{draft}")
        open_lines = [s for s in response["suggestions"] if s["invoiceLineIndex"] in indexes]
        assert len(open_lines) == len(indexes), (draft, indexes)  # the SQL count agrees
        goods = [s for s in open_lines if not s["isExtraCharge"]]
        eligible = [s for s in goods if any(c["isAutoEligible"] for c in s["candidates"])]
        if goods and len(eligible) == len(goods):
            ready[draft] = len(eligible)
    return ready


@question(
    "drafts-ready-to-match",
    "drafts ready to match",
    "Which supplier-invoice drafts can be matched automatically, and how many lines of each?",
    lambda books, f: None,
    referee=_ready_drafts_referee,
    uses=needs("purchase-invoice-drafts"),
)
async def _ready_drafts(ask: Assistant, f: Facts) -> Any:
    page = await ask("list_purchase_invoice_drafts", readyToAutoMatch=True, pageSize=100)
    assert not page["truncated"]
    assert all(d["readyToAutoMatch"] for d in page["items"])
    return {d["invoiceId"]: d["autoEligibleLineCount"] for d in page["items"]}


async def _eligible_lines_referee(books: Books, f: Facts, rest: Rest) -> dict[int, int]:
    """Every open draft's auto-eligible unmatched goods lines, by the same rule as above."""
    drafts = books.rows(
        'SELECT d."Id" FROM "PurchaseInvoiceDraft" d WHERE EXISTS (SELECT 1 FROM '
        '"PurchaseInvoiceDraftLine" l WHERE l."DraftId" = d."Id" AND NOT EXISTS (SELECT 1 FROM '
        '"PurchaseInvoiceMatch" m WHERE m."DraftId" = l."DraftId" AND m."LineIndex" = l."LineIndex"))'
    )
    matched: dict[int, set[int]] = defaultdict(set)
    for row in books.rows('SELECT "DraftId", "LineIndex" FROM "PurchaseInvoiceMatch"'):
        matched[row.DraftId].add(row.LineIndex)
    counts = {}
    for draft in sorted(r.Id for r in drafts):
        response = await rest(f"/purchase-invoice-matches/{draft}")
        counts[draft] = sum(
            1
            for s in response["suggestions"]
            if s["invoiceLineIndex"] not in matched[draft]
            and not s["isExtraCharge"]
            and any(c["isAutoEligible"] for c in s["candidates"])
        )
    return counts


@question(
    "drafts-auto-eligible-lines",
    "drafts ready to match",
    "For each supplier-invoice draft still to be matched, how many lines could be matched automatically?",
    lambda books, f: None,
    referee=_eligible_lines_referee,
    uses=needs("purchase-invoice-drafts"),
)
async def _eligible_lines(ask: Assistant, f: Facts) -> Any:
    page = await ask("list_purchase_invoice_drafts", withAutoEligible=True, pageSize=100)
    assert not page["truncated"]
    return {d["invoiceId"]: d["autoEligibleLineCount"] for d in page["items"]}
