"""Order lines: what is sold or bought, how much, at what price, and how much was delivered.

Quantities are thousandths and prices cents (see ``amounts``); sums are computed when the
line is written, so they always follow from these numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo.amounts import convert_cents
from demo.catalog import Catalog, Offer, Product
from demo.chance import Odds, pick
from demo.parties import Party
from demo.run import CURRENCY_ID, RATE_TO_SEK, Run

LINE_COUNTS = Odds((1, 20), (2, 20), (3, 17), (4, 13), (5, 10), (6, 8), (7, 6), (8, 6))
SALES_UNITS = Odds(
    (1, 22),
    (2, 16),
    (3, 10),
    (4, 8),
    (5, 9),
    (6, 5),
    (8, 5),
    (10, 8),
    (12, 4),
    (15, 3),
    (20, 4),
    (25, 2),
    (50, 2),
    (100, 2),
)
PURCHASE_UNITS = Odds((5, 15), (10, 25), (20, 15), (25, 10), (50, 15), (100, 12), (200, 5), (500, 3))
SALES_DISCOUNTS = Odds((0, 85), (5, 10), (10, 5))
PURCHASE_DISCOUNTS = Odds((0, 92), (5, 5), (10, 3))
# Lines without a product: (description, quantity in thousandths or None for hours, price in SEK cents).
SERVICE_LINES = (
    ("Frakt", 1000, 19_500),
    ("Montage, timpris", None, 65_000),
    ("Emballage", 1000, 4_500),
    ("Expeditionsavgift", 1000, 5_900),
)
SERVICE_LINE_SHARE = 0.02
RECENT_DAYS = 180
DEFAULT_LEAD_DAYS = 14
SEK = CURRENCY_ID["SEK"]


@dataclass(slots=True)
class Line:
    product: Product | None
    description: str
    vendor_sku: str | None
    qty: int  # thousandths
    delivered: int
    price: int  # cents, in the document's currency
    discount: int  # percent
    vat: int  # percent


def line_count(rng: random.Random) -> int:
    return LINE_COUNTS.draw(rng)


def sales_lines(rng: random.Random, run: Run, catalog: Catalog, customer: Party, day: int) -> list[Line]:
    return [_sales_line(rng, run, catalog, customer, day) for _ in range(line_count(rng))]


def purchase_lines(rng: random.Random, offers: list[tuple[Product, Offer]]) -> tuple[list[Line], int]:
    """Lines from the vendor's offers, and the lead time: the first quoted one, else two weeks."""
    chosen = rng.sample(offers, min(len(offers), line_count(rng)))
    lead_days = next(
        (offer.lead_days for _, offer in chosen if offer.lead_days is not None), DEFAULT_LEAD_DAYS
    )
    return [_purchase_line(rng, product, offer) for product, offer in chosen], lead_days


def _sales_line(rng: random.Random, run: Run, catalog: Catalog, customer: Party, day: int) -> Line:
    if rng.random() < SERVICE_LINE_SHARE:
        return _service_line(rng, customer)
    product = _product_on_sale(rng, run, catalog, day)
    price = product.price_cents * customer.price_factor_pct // 100
    if rng.random() < 0.25:
        price = price * rng.randint(95, 108) // 100
    if customer.currency_id != run.currency_id:
        price = convert_cents(price, RATE_TO_SEK[run.currency_id], RATE_TO_SEK[customer.currency_id])
    discount = SALES_DISCOUNTS.draw(rng)
    vat = 0 if customer.vat_exempt else product.vat_pct
    return Line(product, product.description, None, _sales_qty(rng), 0, max(1, price), discount, vat)


def _product_on_sale(rng: random.Random, run: Run, catalog: Catalog, day: int) -> Product:
    """A popular product; discontinued ones mostly in older orders."""
    product = pick(rng, catalog.products, catalog.product_weights)
    for _ in range(3):
        if product.active or run.today - day > RECENT_DAYS:
            break
        product = pick(rng, catalog.products, catalog.product_weights)
    return product


def _service_line(rng: random.Random, customer: Party) -> Line:
    description, qty, price_sek = rng.choice(SERVICE_LINES)
    price = convert_cents(price_sek, RATE_TO_SEK[SEK], RATE_TO_SEK[customer.currency_id])
    hours = qty if qty is not None else rng.randint(2, 16) * 500
    return Line(None, description, None, hours, 0, price, 0, 0 if customer.vat_exempt else 25)


def _sales_qty(rng: random.Random) -> int:
    if rng.random() < 0.03:
        return rng.randint(2, 100) * 250
    return SALES_UNITS.draw(rng) * 1000


def _purchase_line(rng: random.Random, product: Product, offer: Offer) -> Line:
    qty = rng.randint(2, 400) * 250 if rng.random() < 0.03 else PURCHASE_UNITS.draw(rng) * 1000
    price = offer.price_cents
    if rng.random() < 0.12:
        price = max(1, price * rng.randint(97, 106) // 100)
    discount = PURCHASE_DISCOUNTS.draw(rng)
    vat = 0 if offer.vendor.vat_exempt else product.vat_pct
    return Line(product, product.description, offer.sku, qty, 0, price, discount, vat)


# -- deliveries -------------------------------------------------------------------------


def part_of(rng: random.Random, qty: int) -> int:
    """Some but not all of ``qty`` (whole units for whole quantities); 0 when it cannot be split."""
    if qty % 1000 == 0:
        return rng.randint(1, qty // 1000 - 1) * 1000 if qty >= 2000 else 0
    return rng.randint(1, qty - 1) if qty > 1 else 0


def deliver_all(lines: list[Line]) -> None:
    for line in lines:
        line.delivered = line.qty


def deliver_in_part(rng: random.Random, lines: list[Line]) -> None:
    """Some lines in full, some partly, some not yet; always something delivered and something left."""
    for line in lines:
        roll = rng.random()
        line.delivered = line.qty if roll < 0.45 else part_of(rng, line.qty) if roll < 0.75 else 0
    if all(line.delivered == 0 for line in lines):
        lines[0].delivered = part_of(rng, lines[0].qty) or lines[0].qty
    if all(line.delivered >= line.qty for line in lines):
        lines[-1].delivered = part_of(rng, lines[-1].qty) if len(lines) == 1 else 0


def deliver_with_discrepancy(rng: random.Random, lines: list[Line]) -> None:
    """Invoiced as ordered, but ~2 % of documents had a line delivered short and ~1 % one over."""
    deliver_all(lines)
    roll, line = rng.random(), rng.choice(lines)
    if roll < 0.02:
        line.delivered = part_of(rng, line.qty)
    elif roll < 0.03:
        line.delivered = line.qty + rng.randint(1, 3) * 1000
