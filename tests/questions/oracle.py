"""The suite's own arithmetic: documents read with SQL written here, added up in Python with
exact decimals under the documented rules (never the views' code)."""

from __future__ import annotations

import calendar
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

CENT = Decimal("0.01")
SIX = Decimal("0.000001")


def cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def plain(text: str) -> str:
    """Lower case without diacritics, as a person types a word (NFKD, marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def quarter_start(day: date) -> date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Books:
    """One tenant database as the suite reads it."""

    conn: sa.Connection
    home: str
    today: date

    def rows(self, sql: str, **params: Any) -> list[Any]:
        statement = sa.text(sql).bindparams(
            *(sa.bindparam(k, type_=sa.DateTime) for k, v in params.items() if isinstance(v, datetime))
        )
        return list(self.conn.execute(statement, params).all())

    def rates(self) -> dict[int, Decimal]:
        rows = self.rows('SELECT "Id", "IsoCode", "RateToSek" FROM "Currency"')
        home = next(Decimal(str(r.RateToSek)) for r in rows if r.IsoCode == self.home)
        return {r.Id: (Decimal(str(r.RateToSek)) / home).quantize(SIX, ROUND_HALF_UP) for r in rows}

    def iso(self) -> dict[int, str]:
        return {r.Id: r.IsoCode for r in self.rows('SELECT "Id", "IsoCode" FROM "Currency"')}

    def in_home(self, per_currency: dict[int, Decimal]) -> Decimal:
        rates = self.rates()
        return sum(
            ((amount * rates[cid]).quantize(CENT, ROUND_HALF_UP) for cid, amount in per_currency.items()),
            Decimal(0),
        )

    # -- documents ----------------------------------------------------------------------

    def sales(self, first: date, last: date) -> list[Any]:
        """Invoices and credit notes counted as revenue, invoiced from first to last."""
        return self._documents(("SALESINVOICE", "SALESCREDIT"), '"IsSales"', '"DateInvoice"', first, last)

    def intake(self, first: date, last: date) -> list[Any]:
        return self._documents(("SALESORDER", "SALESINVOICE"), '"IsOrderIntake"', '"DateOrder"', first, last)

    def purchases(self, first: date, last: date) -> list[Any]:
        received = (
            'EXISTS (SELECT 1 FROM "OrderItem" i JOIN "InvTransaction" r ON r."OrderItemId" = i."Id" '
            'WHERE i."OrderId" = o."Id")'
        )
        flag = f'(s."IsPurchase" = TRUE OR {received})'
        return self._documents(("PURCHASEORDER",), flag, '"DateOrder"', first, last, qualified=True)

    def _documents(
        self,
        types: tuple[str, ...],
        flag: str,
        column: str,
        first: date,
        last: date,
        *,
        qualified: bool = False,
    ) -> list[Any]:
        kinds = ", ".join(f"'{t}'" for t in types)
        condition = flag if qualified else f"s.{flag} = TRUE"
        return self.rows(
            f"""SELECT o."Id", o."CompanyId", o."CurrencyId", o."TotalExVat", o.{column} AS "Day",
                       t."SystemName"
                FROM "Orders" o
                JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
                JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
                WHERE t."SystemName" IN ({kinds}) AND {condition}
                  AND o.{column} >= :first AND o.{column} < :after""",
            first=midnight(first),
            after=midnight(last + timedelta(days=1)),
        )

    def lines_of(self, documents: Iterable[Any]) -> list[Any]:
        """Lines of the given documents, with the quantity negative on credit notes."""
        by_id = {d.Id: d for d in documents}
        if not by_id:
            return []
        rows = self.rows(
            'SELECT i."OrderId", i."ProductId", i."QtyOrdered", i."SumExVat" FROM "OrderItem" i '
            f'WHERE i."OrderId" IN ({", ".join(str(k) for k in by_id)})'
        )
        return [
            Line(
                by_id[r.OrderId],
                r.ProductId,
                Decimal(str(r.QtyOrdered)) * (-1 if by_id[r.OrderId].SystemName == "SALESCREDIT" else 1),
                cents(r.SumExVat),
            )
            for r in rows
        ]

    def total(self, documents: Iterable[Any]) -> Decimal:
        per_currency: dict[int, Decimal] = defaultdict(Decimal)
        for d in documents:
            per_currency[d.CurrencyId] += cents(d.TotalExVat)
        return self.in_home(per_currency)

    def open_invoices(self) -> list[Any]:
        """Invoices counted as revenue with something unpaid (to the cent)."""
        rows = self.rows(
            """SELECT o."Id", o."CompanyId", o."CurrencyId", o."TotalIncVat", o."DateDue",
                      (SELECT SUM(p."Amount") FROM "Payment" p WHERE p."OrderId" = o."Id") AS "Paid"
               FROM "Orders" o
               JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
               JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
               WHERE t."SystemName" = 'SALESINVOICE' AND s."IsSales" = TRUE"""
        )
        result = []
        for r in rows:
            unpaid = cents(r.TotalIncVat) - cents(r.Paid)
            if unpaid > 0:
                due = moment(r.DateDue)
                days = (self.today - due.date()).days if due is not None and due < midnight(self.today) else 0
                result.append(Open(r.Id, r.CompanyId, r.CurrencyId, unpaid, days))
        return result

    def aging(self) -> dict[int, dict[str, Decimal]]:
        """Per customer: each bucket's per-currency sum converted once, and overdue and open."""
        sums: dict[int, dict[str, dict[int, Decimal]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(Decimal))
        )
        for inv in self.open_invoices():
            sums[inv.customer_id][bucket(inv.days_overdue)][inv.currency_id] += inv.amount
        result = {}
        for customer, buckets in sums.items():
            row = {name: self.in_home(buckets.get(name, {})) for name in BUCKETS}
            row["overdue"] = sum((row[name] for name in BUCKETS[1:]), Decimal(0))
            row["open"] = row["overdue"] + row["notDue"]
            result[customer] = row
        return result

    def late_invoices(self) -> list[Open]:
        """Invoices counted as revenue, unpaid past their due date."""
        return [inv for inv in self.open_invoices() if inv.days_overdue > 0]

    def late_lines(self) -> list[Any]:
        """Lines of sales orders in the order book with something left to deliver after their
        promised delivery date, each with the value left (qty left x net price, to the cent)."""
        rows = self.rows(
            """SELECT i."Id", i."ProductId", o."CompanyId", o."CurrencyId", o."DateDelivery",
                      i."QtyOrdered", i."QtyDelivered", i."Price", i."Discount"
               FROM "OrderItem" i
               JOIN "Orders" o ON o."Id" = i."OrderId"
               JOIN "OrderStatus" s ON s."Id" = o."OrderStatusId"
               JOIN "OrderStatusType" t ON t."Id" = s."OrderStatusTypeId"
               WHERE t."SystemName" = 'SALESORDER' AND s."IsOrderIntake" = TRUE
                 AND i."QtyDelivered" < i."QtyOrdered" ORDER BY i."Id"
            """
        )
        late = []
        for r in rows:
            if moment(r.DateDelivery) >= midnight(self.today):  # type: ignore[operator]
                continue
            left = Decimal(str(r.QtyOrdered)) - Decimal(str(r.QtyDelivered))
            net = Decimal(str(r.Price)) * (100 - Decimal(str(r.Discount))) / 100
            late.append(LateLine(r.Id, r.ProductId, r.CompanyId, r.CurrencyId, cents(left * net)))
        return late

    def vendor_prices(self) -> list[Price]:
        """Every supplier price: valid today or not, its rank (cheapest first across currencies)
        and its price in the home currency."""
        rows = self.rows(
            'SELECT p."Id", p."ProductId", p."SupplierId", p."Price", p."CurrencyId", p."ValidFrom", '
            'p."ValidTo", c."RateToSek" FROM "SupplierPrice" p JOIN "Currency" c ON c."Id" = p."CurrencyId"'
        )
        rates, day = self.rates(), midnight(self.today)
        result = []
        for r in rows:
            start, end = moment(r.ValidFrom), moment(r.ValidTo)
            valid = (start is None or start <= day) and (end is None or end >= day)
            price = Decimal(str(r.Price))
            home = (price * rates[r.CurrencyId]).quantize(CENT, ROUND_HALF_UP)
            rank = (price * rates[r.CurrencyId], r.Id)
            result.append(
                Price(r.Id, r.ProductId, r.SupplierId, cents(price), r.CurrencyId, valid, home, rank)
            )
        return result

    def products_with_words(self, typed: str) -> set[str]:
        """Product numbers whose number and description hold every typed word, case and
        diacritics ignored."""
        rows = self.rows('SELECT "ProductNumber", "Description" FROM "Product"')
        words = [plain(w) for w in typed.split()]
        return {
            r.ProductNumber
            for r in rows
            if all(w in plain(f"{r.ProductNumber} {r.Description}") for w in words)
        }


@dataclass(frozen=True)
class LateLine:
    id: int
    product_id: int | None
    customer_id: int
    currency_id: int
    value: Decimal


@dataclass(frozen=True)
class Price:
    id: int
    product_id: int
    supplier_id: int
    price: Decimal
    currency_id: int
    valid: bool
    home: Decimal
    rank: tuple[Decimal, int]


@dataclass(frozen=True)
class Line:
    document: Any
    product_id: int | None
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Open:
    id: int
    customer_id: int
    currency_id: int
    amount: Decimal
    days_overdue: int


BUCKETS = ("notDue", "overdue1To30", "overdue31To60", "overdue61To90", "overdueOver90")


def bucket(days: int) -> str:
    if days <= 0:
        return "notDue"
    if days <= 30:
        return "overdue1To30"
    if days <= 60:
        return "overdue31To60"
    if days <= 90:
        return "overdue61To90"
    return "overdueOver90"
