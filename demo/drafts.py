"""Purchase-invoice drafts whose true receipts are known: the ground truth for matching quality.

Runs after the base generator on the same database. For each draft it writes its own purchase
orders, PO lines and goods receipts (ids above every existing id, and above ``id_offset``), then
the draft, its lines and one ``DemoMatchTruth`` row per true receipt (``InvTransactionId`` null
when the line has no receipt). The draft's vendor is the POs' vendor. Every invoice line has one
scenario:

=====================  ===========================================================================
scenario               the invoice line and its receipts
=====================  ===========================================================================
exact                  one receipt, same qty and price, received up to 10 days before the invoice
split_delivery         one PO line delivered in 2-3 receipts that add up to the invoiced qty
consolidated           the same product on two POs, one receipt each, invoiced on one line
price_drift_inside     unit price off by 40-95 % of the price tolerance
price_drift_outside    unit price off by 105-250 % of the price tolerance
qty_short              received less than invoiced: half just inside the qty tolerance, half outside
qty_over               received more than invoiced: half just inside, half outside
late_receipt           received 15-45 days after the invoice date (outside the date window)
decoy_po               exact, and another open PO of the vendor has the same product with a
                       receipt close in qty (often equal) and price (often equal), near in date
vendor_sku_typo        exact, but the invoice's vendor SKU has one typo and no product number
no_receipt_yet         the PO line exists, nothing received yet (truth: no receipt)
extra_charge           freight or fee line (Frakt, Fraktavgift, Expeditionsavgift, Freight), no receipt
=====================  ===========================================================================

Three drafts in ten invoice two or three POs at once (each goods line from one of them, so some
lines are alone on their PO). One goods line in ten also has an earlier, already booked receipt
of the same qty on its PO line (which no suggestion may offer). Some drafts are in EUR or USD,
so price variances go through ``RateToSek``. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from demo.truth import demo_match_truth
from tools import schema as s
from tools.matching.models import Tolerances
from tools.reference import PURCHASEORDER
from tools.wire import CENT, midnight, money

SCENARIO_WEIGHTS: dict[str, int] = {
    "exact": 22,
    "split_delivery": 9,
    "consolidated": 6,
    "price_drift_inside": 8,
    "price_drift_outside": 6,
    "qty_short": 6,
    "qty_over": 6,
    "late_receipt": 6,
    "decoy_po": 11,
    "vendor_sku_typo": 9,
    "no_receipt_yet": 5,
}
EXTRA_CHARGE_SHARE = 0.45
MULTI_PO_SHARE = 0.3
EXTRA_CHARGES = ("Frakt", "Fraktavgift", "Expeditionsavgift", "Freight", "Frakt och emballage")
BOOKED_NOISE_SHARE = 0.1
LINES_PER_DRAFT = (4, 12)
INVOICE_AGE_DAYS = (45, 240)
MIN_OFFERS = 6
QUANTITIES = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    12,
    15,
    20,
    24,
    25,
    30,
    40,
    48,
    50,
    60,
    75,
    80,
    100,
    120,
    150,
    200,
    250,
)
OTHER_CURRENCIES = (("EUR", 0.2), ("USD", 0.1))
VAT = Decimal("0.25")
PRICE_PLACES = Decimal("0.0001")
TOLERANCES = Tolerances()


@dataclass(frozen=True)
class DraftsSummary:
    drafts: int
    lines: int
    purchase_orders: int
    receipts: int
    lines_per_scenario: dict[str, int]


@dataclass(frozen=True, slots=True)
class Offer:
    product_id: int
    product_number: str
    description: str
    sku: str | None
    price_sek: Decimal


@dataclass(frozen=True, slots=True)
class Vendor:
    id: int
    currency_id: int | None
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class Currency:
    id: int
    rate: Decimal


@dataclass
class PurchaseOrder:
    id: int
    number: int
    vendor_id: int
    day: date
    currency: Currency
    items: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Delivery:
    qty: Decimal
    day: date
    booked: bool = False


@dataclass
class Invoiced:
    """What the vendor's invoice line says; the scenario bends it away from the receipts."""

    qty: Decimal
    price: Decimal
    sku: str | None
    number: str | None


@dataclass
class Draft:
    id: int
    vendor: Vendor
    day: date
    currency: Currency
    orders: list[PurchaseOrder]
    po: PurchaseOrder  # the PO of the line being written
    lines: list[dict[str, object]] = field(default_factory=list)


# -- what the base generator left -------------------------------------------------------------


def vendors_with_prices(conn: sa.Connection) -> list[Vendor]:
    sp, p, c, cur = s.supplier_prices, s.products, s.companies, s.currencies
    rows = conn.execute(
        sa.select(
            sp.c.SupplierId,
            c.c.CurrencyId,
            sp.c.ProductId,
            p.c.ProductNumber,
            p.c.Description,
            sp.c.SupplierProductNumber,
            sp.c.Price,
            cur.c.RateToSek,
        )
        .join(c, c.c.Id == sp.c.SupplierId)
        .join(p, p.c.Id == sp.c.ProductId)
        .join(cur, cur.c.Id == sp.c.CurrencyId)
        .where(c.c.IsVendor.is_(True), c.c.Inactive.is_(False), sp.c.Price > 0)
        .order_by(sp.c.SupplierId, sp.c.ProductId, sp.c.Id)
    )
    offers: dict[int, dict[int, Offer]] = {}
    currency_of: dict[int, int | None] = {}
    for r in rows:
        currency_of[r.SupplierId] = r.CurrencyId
        price = money(Decimal(r.Price) * Decimal(r.RateToSek))
        offer = Offer(r.ProductId, r.ProductNumber, r.Description, r.SupplierProductNumber, price)
        offers.setdefault(r.SupplierId, {}).setdefault(r.ProductId, offer)
    return [
        Vendor(vendor_id, currency_of[vendor_id], tuple(by_product.values()))
        for vendor_id, by_product in offers.items()
        if len(by_product) >= MIN_OFFERS
    ]


def _currencies(conn: sa.Connection) -> dict[str, Currency]:
    rows = conn.execute(sa.select(s.currencies.c.Id, s.currencies.c.IsoCode, s.currencies.c.RateToSek))
    return {r.IsoCode: Currency(r.Id, Decimal(r.RateToSek)) for r in rows}


def _purchase_status_ids(conn: sa.Connection) -> list[int]:
    st, stt = s.order_statuses, s.order_status_types
    stmt = (
        sa.select(st.c.Id)
        .join(stt, stt.c.Id == st.c.OrderStatusTypeId)
        .where(stt.c.SystemName == PURCHASEORDER, st.c.IsPurchase.is_(True))
        .order_by(st.c.Id)
    )
    return list(conn.execute(stmt).scalars())


class Ids:
    """Next free id per table: above every existing id and above ``id_offset``."""

    def __init__(self, conn: sa.Connection, id_offset: int) -> None:
        tables = (
            s.orders,
            s.order_items,
            s.inv_transactions,
            s.purchase_invoice_drafts,
            s.purchase_invoice_draft_lines,
        )
        self._next = {t.name: max(_max(conn, t.c.Id), id_offset) + 1 for t in tables}
        self._next["PurchaseNumber"] = max(_max(conn, s.orders.c.PurchaseNumber), id_offset) + 1

    def take(self, name: str) -> int:
        value = self._next[name]
        self._next[name] = value + 1
        return value


def _max(conn: sa.Connection, column: sa.Column[int]) -> int:
    return int(conn.execute(sa.select(sa.func.max(column))).scalar() or 0)


# -- rows -------------------------------------------------------------------------------------


class Rows:
    """Rows to insert, built draft by draft, written in bulk at the end."""

    def __init__(self, conn: sa.Connection, id_offset: int) -> None:
        self.ids = Ids(conn, id_offset)
        self.statuses = _purchase_status_ids(conn)
        self.orders: list[PurchaseOrder] = []
        self.receipts: list[dict[str, object]] = []
        self.drafts: list[dict[str, object]] = []
        self.lines: list[dict[str, object]] = []
        self.truth: list[dict[str, object]] = []

    def purchase_order(self, vendor_id: int, day: date, currency: Currency) -> PurchaseOrder:
        po = PurchaseOrder(self.ids.take("Orders"), self.ids.take("PurchaseNumber"), vendor_id, day, currency)
        self.orders.append(po)
        return po

    def po_line(
        self,
        po: PurchaseOrder,
        offer: Offer,
        price: Decimal,
        deliveries: Sequence[Delivery],
        qty_open: Decimal = Decimal(0),
    ) -> list[int]:
        """A PO line with its receipts; returns the receipt ids."""
        item_id = self.ids.take("OrderItem")
        delivered = sum((d.qty for d in deliveries), Decimal(0))
        ordered = delivered + qty_open
        po.items.append(_order_item(item_id, po, offer, price, ordered, delivered))
        unit_price_sek = (price * po.currency.rate).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
        return [self._receipt(item_id, offer.product_id, d, unit_price_sek) for d in deliveries]

    def _receipt(self, item_id: int, product_id: int, delivery: Delivery, unit_price_sek: Decimal) -> int:
        receipt_id = self.ids.take("InvTransaction")
        self.receipts.append(
            {
                "Id": receipt_id,
                "OrderItemId": item_id,
                "ProductId": product_id,
                "WarehouseLocationId": None,
                "Qty": delivery.qty,
                "UnitPriceSek": unit_price_sek,
                "DateTransaction": midnight(delivery.day),
                "IsBooked": delivery.booked,
            }
        )
        return receipt_id

    def write(self, conn: sa.Connection) -> None:
        conn.execute(s.orders.insert(), [_order_row(po, self.statuses) for po in self.orders])
        conn.execute(s.order_items.insert(), [item for po in self.orders for item in po.items])
        for table, rows in (
            (s.inv_transactions, self.receipts),
            (s.purchase_invoice_drafts, self.drafts),
            (s.purchase_invoice_draft_lines, self.lines),
            (demo_match_truth, self.truth),
        ):
            if rows:
                conn.execute(table.insert(), rows)


def _order_item(
    item_id: int, po: PurchaseOrder, offer: Offer, price: Decimal, ordered: Decimal, delivered: Decimal
) -> dict[str, object]:
    sum_ex_vat = money(ordered * price)
    return {
        "Id": item_id,
        "OrderId": po.id,
        "LineNo": len(po.items) + 1,
        "ProductId": offer.product_id,
        "Description": offer.description,
        "VendorProductNumber": offer.sku,
        "QtyOrdered": ordered,
        "QtyDelivered": delivered,
        "Price": price,
        "Discount": Decimal(0),
        "VatRate": VAT,
        "SumExVat": sum_ex_vat,
        "SumIncVat": money(sum_ex_vat * (1 + VAT)),
    }


def _order_row(po: PurchaseOrder, statuses: list[int]) -> dict[str, object]:
    total = sum((Decimal(str(item["SumExVat"])) for item in po.items), Decimal(0))
    partly = any(item["QtyDelivered"] != item["QtyOrdered"] for item in po.items)
    return {
        "Id": po.id,
        "OrderStatusId": statuses[-1] if partly else statuses[0],
        "CompanyId": po.vendor_id,
        "Name": None,
        "PurchaseNumber": po.number,
        "InvoiceNumber": None,
        "DateOrder": midnight(po.day),
        "DateDelivery": midnight(po.day + timedelta(days=14)),
        "DateInvoice": None,
        "DateDue": None,
        "CurrencyId": po.currency.id,
        "TotalExVat": total,
        "TotalVat": money(total * VAT),
        "TotalIncVat": total + money(total * VAT),
        "CreditOfOrderId": None,
    }


# -- scenarios --------------------------------------------------------------------------------


class Scenarios:
    """Writes one invoice line per call, with the receipts its scenario needs."""

    def __init__(self, rng: random.Random, rows: Rows, today: date) -> None:
        self.rng = rng
        self.rows = rows
        self.today = today
        self.counts: Counter[str] = Counter()

    def goods_line(self, draft: Draft, offer: Offer, scenario: str) -> None:
        qty = Decimal(self.rng.choice(QUANTITIES))
        price = self._unit_price(offer, draft.currency)
        line = Invoiced(qty, price, offer.sku, self._number(offer))
        truth = getattr(self, scenario)(draft, offer, line)
        if self.rng.random() < BOOKED_NOISE_SHARE and scenario != "no_receipt_yet":
            self.rows.po_line(draft.po, offer, price, [Delivery(qty, self._received(draft), booked=True)])
        self._line(draft, offer, line, scenario, truth)

    def exact(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        price, qty = line.price, line.qty
        return list(self.rows.po_line(draft.po, offer, price, [Delivery(qty, self._received(draft))]))

    def split_delivery(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        qty = max(line.qty, Decimal(self.rng.randint(4, 60)))
        line.qty = qty
        parts = self._parts(int(qty), self.rng.choice((2, 2, 3)))
        deliveries = [Delivery(Decimal(p), self._received(draft)) for p in parts]
        return list(self.rows.po_line(draft.po, offer, line.price, deliveries))

    def consolidated(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        qty = max(line.qty, Decimal(self.rng.randint(4, 60)))
        line.qty = qty
        first, second = self._parts(int(qty), 2)
        other_po = self.rows.purchase_order(
            draft.vendor.id, draft.po.day - timedelta(days=20), draft.currency
        )
        price = line.price
        ids = self.rows.po_line(other_po, offer, price, [Delivery(Decimal(first), self._received(draft))])
        return [
            *ids,
            *self.rows.po_line(draft.po, offer, price, [Delivery(Decimal(second), self._received(draft))]),
        ]

    def price_drift_inside(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        truth = self.exact(draft, offer, line)
        line.price = self._drifted(line.price, draft.currency, self.rng.uniform(0.4, 0.95), inside=True)
        return truth

    def price_drift_outside(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        truth = self.exact(draft, offer, line)
        line.price = self._drifted(line.price, draft.currency, self.rng.uniform(1.05, 2.5), inside=False)
        return truth

    def qty_short(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        received = line.qty
        truth = self.exact(draft, offer, line)
        line.qty = received + self._qty_gap(received)
        return truth

    def qty_over(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        received = max(line.qty, Decimal(3))
        line.qty = received
        truth = self.exact(draft, offer, line)
        line.qty = max(Decimal(1), received - self._qty_gap(received))
        return truth

    def late_receipt(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        late = draft.day + timedelta(days=self.rng.randint(TOLERANCES.date_window_days + 1, 45))
        delivery = Delivery(line.qty, min(late, self.today))
        return list(self.rows.po_line(draft.po, offer, line.price, [delivery]))

    def decoy_po(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        truth = self.exact(draft, offer, line)
        qty, price = line.qty, line.price
        decoy_qty = max(Decimal(1), qty + self.rng.choice((0, 0, 0, 1, -1, 1, -1, 2, -2, 3, -5)))
        decoy_price = max(
            CENT, money(price * Decimal(str(1 + self.rng.choice((0, 0, 0, 0.004, -0.006, 0.01, -0.02)))))
        )
        decoy_day = draft.day - timedelta(days=self.rng.randint(0, 16))
        decoy = self.rows.purchase_order(draft.vendor.id, decoy_day - timedelta(days=21), draft.currency)
        self.rows.po_line(decoy, offer, decoy_price, [Delivery(decoy_qty, min(decoy_day, self.today))])
        return truth

    def vendor_sku_typo(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        line.sku = typo(self.rng, offer.sku) if offer.sku else None
        line.number = None
        return self.exact(draft, offer, line)

    def no_receipt_yet(self, draft: Draft, offer: Offer, line: Invoiced) -> list[int | None]:
        self.rows.po_line(draft.po, offer, line.price, [], qty_open=line.qty)
        return [None]

    def extra_charge_line(self, draft: Draft) -> None:
        price = money(Decimal(self.rng.randint(49, 650)) / draft.currency.rate)
        description = self.rng.choice(EXTRA_CHARGES)
        row = _draft_line(self.rows, draft, description, Decimal(1), price, None, None)
        row["IsExtraCharge"] = self.rng.random() < 0.6
        self._truth(draft, row, "extra_charge", [None])

    # -- helpers

    def _line(
        self, draft: Draft, offer: Offer, line: Invoiced, scenario: str, truth: list[int | None]
    ) -> None:
        description = self._description(offer.description)
        sku = line.sku if self.rng.random() < 0.95 or scenario == "vendor_sku_typo" else None
        row = _draft_line(self.rows, draft, description, line.qty, line.price, sku, line.number)
        self._truth(draft, row, scenario, truth)

    def _truth(self, draft: Draft, row: dict[str, object], scenario: str, truth: list[int | None]) -> None:
        self.counts[scenario] += 1
        for receipt_id in truth:
            self.rows.truth.append(
                {
                    "DraftId": draft.id,
                    "LineIndex": row["LineIndex"],
                    "InvTransactionId": receipt_id,
                    "Scenario": scenario,
                }
            )

    def _unit_price(self, offer: Offer, currency: Currency) -> Decimal:
        return max(CENT, money(offer.price_sek / currency.rate))

    def _number(self, offer: Offer) -> str | None:
        return offer.product_number if self.rng.random() < 0.4 else None

    def _description(self, description: str) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return description.upper()
        return f"{description} st" if roll < 0.3 else description

    def _received(self, draft: Draft) -> date:
        return min(draft.day - timedelta(days=self.rng.randint(-2, 10)), self.today)

    def _parts(self, qty: int, count: int) -> list[int]:
        cuts = sorted(self.rng.sample(range(1, qty), min(count, qty) - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, qty], strict=True)]

    def _qty_gap(self, received: Decimal) -> Decimal:
        limit = max(TOLERANCES.qty_absolute, TOLERANCES.qty_percent * received)
        inside = limit.to_integral_value(rounding=ROUND_FLOOR)
        if self.rng.random() < 0.5:
            return inside
        return inside + self.rng.randint(1, max(1, int(received) // 4))

    def _drifted(self, price: Decimal, currency: Currency, share: float, *, inside: bool) -> Decimal:
        """A unit price (draft currency) whose SEK variance is ``share`` of the tolerance, on the
        asked side of it after rounding to the cent."""
        receipt_sek = (price * currency.rate).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
        limit = max(TOLERANCES.price_absolute_sek, TOLERANCES.price_percent * receipt_sek)
        sign = -1 if self.rng.random() < 0.5 and receipt_sek > limit * 3 else 1
        drifted = max(CENT, money((receipt_sek + sign * limit * Decimal(str(share))) / currency.rate))
        step = CENT * (-sign if inside else sign)
        while _price_inside(drifted, receipt_sek, currency) != inside or drifted == price:
            drifted = max(CENT, drifted + step) if drifted + step != price else drifted + 2 * step
        return drifted


def _price_inside(price: Decimal, receipt_sek: Decimal, currency: Currency) -> bool:
    """The contract's price tolerance (the larger of its share of the receipt's SEK unit price
    and its SEK amount), written apart from the scorer's so that the ground truth can catch a
    bug in it."""
    variance = abs(money(price * currency.rate - receipt_sek))
    return variance <= max(TOLERANCES.price_absolute_sek, TOLERANCES.price_percent * receipt_sek)


def typo(rng: random.Random, sku: str) -> str:
    """One slip of the keyboard: a character swapped, dropped, doubled or mistyped."""
    at = rng.randrange(len(sku) - 1) if len(sku) > 1 else 0
    kind = rng.choice(("swap", "drop", "double", "mistype"))
    if kind == "swap" and sku[at] != sku[at + 1 : at + 2]:
        return sku[:at] + sku[at + 1] + sku[at] + sku[at + 2 :]
    if kind == "drop" and len(sku) > 4:
        return sku[:at] + sku[at + 1 :]
    if kind == "double":
        return sku[:at] + sku[at] + sku[at:]
    lookalike = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
    return sku[:at] + lookalike.get(sku[at], "X" if sku[at] != "X" else "Y") + sku[at + 1 :]


def _draft_line(
    rows: Rows,
    draft: Draft,
    description: str,
    qty: Decimal,
    price: Decimal,
    sku: str | None,
    number: str | None,
) -> dict[str, object]:
    row: dict[str, object] = {
        "Id": rows.ids.take("PurchaseInvoiceDraftLine"),
        "DraftId": draft.id,
        "LineIndex": len(draft.lines),
        "VendorProductNumber": sku,
        "ProductNumber": number,
        "Description": description[:200],
        "Quantity": qty,
        "UnitPrice": price,
        "TotalExVat": money(qty * price),
        "IsExtraCharge": False,
    }
    draft.lines.append(row)
    rows.lines.append(row)
    return row


def _dec(value: object) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {value!r}")
    return value


# -- drafts -----------------------------------------------------------------------------------


def write_drafts(
    conn: sa.Connection,
    *,
    seed: int,
    today: date,
    id_offset: int,
    lines_target: int = 3200,
    vendor_ids: Sequence[int] | None = None,
) -> DraftsSummary:
    """Drafts with ground truth until ``lines_target`` invoice lines exist (``vendor_ids``
    restricts the vendors used)."""
    rng = random.Random(f"asstio-drafts/{seed}")
    vendors = [v for v in vendors_with_prices(conn) if vendor_ids is None or v.id in vendor_ids]
    if not vendors:
        raise ValueError(f"no active vendor with {MIN_OFFERS}+ supplier prices: run the base generator first")
    rows = Rows(conn, id_offset)
    scenarios = Scenarios(rng, rows, today)
    currencies = _currencies(conn)
    draft_count = 0
    while len(rows.lines) < lines_target:
        vendor = vendors[draft_count % len(vendors)] if draft_count < len(vendors) else rng.choice(vendors)
        _draft(rng, rows, scenarios, vendor, _draft_currency(rng, vendor, currencies), today)
        draft_count += 1
    rows.write(conn)
    return DraftsSummary(
        draft_count, len(rows.lines), len(rows.orders), len(rows.receipts), dict(scenarios.counts)
    )


def _draft_currency(rng: random.Random, vendor: Vendor, currencies: dict[str, Currency]) -> Currency:
    own = next((c for c in currencies.values() if c.id == vendor.currency_id), None)
    if own is not None:
        return own
    roll = rng.random()
    for code, share in OTHER_CURRENCIES:
        if roll < share and code in currencies:
            return currencies[code]
        roll -= share
    return currencies["SEK"]


def _draft(
    rng: random.Random, rows: Rows, scenarios: Scenarios, vendor: Vendor, currency: Currency, today: date
) -> None:
    day = today - timedelta(days=rng.randint(*INVOICE_AGE_DAYS))
    order_count = 1 if rng.random() >= MULTI_PO_SHARE else rng.randint(2, 3)
    orders = [
        rows.purchase_order(vendor.id, day - timedelta(days=rng.randint(20, 40)), currency)
        for _ in range(order_count)
    ]
    draft = Draft(rows.ids.take("PurchaseInvoiceDraft"), vendor, day, currency, orders, orders[0])
    offers = rng.sample(vendor.offers, min(rng.randint(*LINES_PER_DRAFT), len(vendor.offers)))
    names, weights = list(SCENARIO_WEIGHTS), list(SCENARIO_WEIGHTS.values())
    for offer in offers:
        draft.po = rng.choice(orders)
        scenarios.goods_line(draft, offer, rng.choices(names, weights)[0])
    if rng.random() < EXTRA_CHARGE_SHARE:
        scenarios.extra_charge_line(draft)
    rows.drafts.append(_draft_row(draft, rng))


def _draft_row(draft: Draft, rng: random.Random) -> dict[str, object]:
    total = sum((_dec(line["TotalExVat"]) for line in draft.lines), Decimal(0))
    vat = money(total * VAT)
    return {
        "Id": draft.id,
        "VendorId": draft.vendor.id,
        "InvoiceNumber": f"{rng.randint(10, 99)}-{draft.id:07d}",
        "DateInvoice": midnight(draft.day),
        "DateDue": midnight(draft.day + timedelta(days=30)),
        "CurrencyId": draft.currency.id,
        "TotalExVat": total,
        "TotalVat": vat,
        "TotalIncVat": total + vat,
        "CreatedAt": midnight(draft.day + timedelta(days=1)),
    }
