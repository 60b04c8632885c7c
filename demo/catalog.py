"""Products, warehouses with their locations, stock per location, and vendors' prices."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import sqlalchemy as sa

from demo.amounts import convert_cents, from_cents, quantity
from demo.articles import article_range, ean13
from demo.bulk import Row, as_row
from demo.chance import popularity
from demo.days import datetime_or_none
from demo.names import WAREHOUSE_NAMES, vendor_code, vendor_sku
from demo.parties import Parties, Party
from demo.run import CURRENCY_ID, RATE_TO_SEK, Run, clamp
from tools.schema import (
    product_stock,
    products,
    supplier_prices,
    warehouse_locations,
    warehouses,
)

WAREHOUSES = WAREHOUSE_NAMES
AISLES = "ABCDEFGH"
SEK = CURRENCY_ID["SEK"]
ALTERNATIVE_CURRENCIES = (CURRENCY_ID["EUR"], CURRENCY_ID["USD"], SEK)


@dataclass(frozen=True, slots=True)
class Offer:
    """A vendor's current price for one of our products, in the vendor's currency."""

    vendor: Party
    sku: str | None
    price_cents: int
    lead_days: int | None


@dataclass(slots=True)
class Product:
    id: int
    number: str
    description: str
    price_cents: int  # list price in the tenant's currency
    vat_pct: int
    active: bool
    location_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Catalog:
    products: list[Product]
    product_weights: list[float]  # cumulative, for rng.choices
    offers_by_vendor: dict[int, list[tuple[Product, Offer]]]
    location_ids: list[int]
    rows: dict[sa.Table, list[Row]]


def product_count(orders: int) -> int:
    return clamp(orders // 100, 150, 20000)


def build_catalog(run: Run, parties: Parties) -> Catalog:
    rng = run.rng("catalog")
    product_list, product_rows = _products(rng, run)
    warehouse_rows, location_rows = _warehouses(rng, run)
    stock_rows = _stock(rng, run, product_list, location_rows)
    offers, price_rows = _supplier_prices(rng, run, product_list, parties.vendors)
    rows = {
        products: product_rows,
        warehouses: warehouse_rows,
        warehouse_locations: location_rows,
        product_stock: stock_rows,
        supplier_prices: price_rows,
    }
    weights = popularity(rng, len(product_list), 0.8)
    return Catalog(product_list, weights, offers, [row[0] for row in location_rows], rows)


def _products(rng: random.Random, run: Run) -> tuple[list[Product], list[Row]]:
    product_list: list[Product] = []
    rows: list[Row] = []
    home_rate = RATE_TO_SEK[run.currency_id]
    articles = article_range(rng, product_count(run.orders))
    for index, (product_id, article) in enumerate(zip(run.ids(len(articles)), articles, strict=True)):
        price = convert_cents(article.price_sek_cents, RATE_TO_SEK[SEK], home_rate)
        product = Product(product_id, article.number, article.description, price, article.vat_pct, True)
        product.active = rng.random() >= 0.05
        product_list.append(product)
        rows.append(
            as_row(
                products,
                Id=product_id,
                ProductNumber=article.number,
                Description=article.description,
                Barcode=ean13(index) if rng.random() < 0.7 else None,
                IsActive=product.active,
                DefaultPrice=from_cents(price),
            )
        )
    return product_list, rows


def _warehouses(rng: random.Random, run: Run) -> tuple[list[Row], list[Row]]:
    warehouse_rows = [
        as_row(warehouses, Id=warehouse_id, Name=name)
        for warehouse_id, name in zip(run.ids(len(WAREHOUSES)), WAREHOUSES, strict=True)
    ]
    places = [(warehouse_id, name) for warehouse_id, *_ in warehouse_rows for name in _location_names(rng)]
    location_rows = [
        as_row(warehouse_locations, Id=location_id, WarehouseId=warehouse_id, Name=name)
        for location_id, (warehouse_id, name) in zip(run.ids(len(places)), places, strict=True)
    ]
    return warehouse_rows, location_rows


def _location_names(rng: random.Random) -> list[str]:
    """Shelf places like "A-12-3": aisle, rack, shelf."""
    every_place = list(itertools.product(AISLES, range(1, 31), range(1, 7)))
    chosen = sorted(rng.sample(every_place, rng.randint(20, 60)))
    return [f"{aisle}-{rack:02d}-{shelf}" for aisle, rack, shelf in chosen]


def _stock(rng: random.Random, run: Run, product_list: list[Product], location_rows: list[Row]) -> list[Row]:
    warehouse_of = {row[0]: row[1] for row in location_rows}
    location_ids = list(warehouse_of)
    rows: list[Row] = []
    stock_ids = itertools.count(run.id_offset + 1)
    for product in product_list:
        places = rng.choices((1, 2, 3), (55, 30, 15))[0]
        product.location_ids = sorted(rng.sample(location_ids, places))
        for location_id in product.location_ids:
            in_stock, incoming, outgoing = _stock_levels(rng, product.active)
            rows.append(
                as_row(
                    product_stock,
                    Id=next(stock_ids),
                    ProductId=product.id,
                    WarehouseLocationId=location_id,
                    WarehouseId=warehouse_of[location_id],
                    QtyInStock=quantity(in_stock),
                    QtyIncoming=quantity(incoming),
                    QtyOutgoing=quantity(outgoing),
                )
            )
    return rows


def _stock_levels(rng: random.Random, active: bool) -> tuple[int, int, int]:
    """In stock, incoming and outgoing, in thousandths."""
    if not active:
        return (rng.randint(1, 5) * 1000 if rng.random() < 0.2 else 0), 0, 0
    in_stock = 0 if rng.random() < 0.08 else rng.randint(1, 400) * 1000
    if rng.random() < 0.03:
        in_stock += rng.randint(1, 999)
    incoming = 0 if rng.random() < 0.7 else rng.randint(1, 40) * 5000
    outgoing = 0 if rng.random() < 0.6 else rng.randint(1, 80) * 1000
    return in_stock, incoming, outgoing


def _supplier_prices(
    rng: random.Random, run: Run, product_list: list[Product], vendors: list[Party]
) -> tuple[dict[int, list[tuple[Product, Offer]]], list[Row]]:
    """Every product from 1-4 vendors (each vendor supplies something), 1-3 price rows each."""
    offers: dict[int, list[tuple[Product, Offer]]] = {vendor.id: [] for vendor in vendors}
    rows: list[Row] = []
    price_ids = itertools.count(run.id_offset + 1)
    rotation = rng.sample(vendors, len(vendors))
    sku_styles = {vendor.id: rng.randrange(3) for vendor in vendors}
    codes = {vendor.id: vendor_code(vendor.name) for vendor in vendors}
    for index, product in enumerate(product_list):
        main_vendor, extra = rotation[index % len(rotation)], rng.choices((0, 1, 2, 3), (45, 30, 17, 8))[0]
        others = [vendor for vendor in rng.sample(vendors, extra + 1) if vendor is not main_vendor]
        suppliers = [main_vendor, *others[:extra]]
        for vendor in suppliers:
            sku = (
                None
                if rng.random() < 0.05
                else vendor_sku(codes[vendor.id], sku_styles[vendor.id], product.number, index)
            )
            offer = _offer(rng, run, product, vendor, sku)
            offers[vendor.id].append((product, offer))
            rows += _price_rows(rng, run, price_ids, product, offer)
    return offers, rows


def _offer(rng: random.Random, run: Run, product: Product, vendor: Party, sku: str | None) -> Offer:
    cost = product.price_cents * rng.randint(45, 72) // 100
    price = max(1, convert_cents(cost, RATE_TO_SEK[run.currency_id], RATE_TO_SEK[vendor.currency_id]))
    lead = None if rng.random() < 0.15 else rng.choice((2, 3, 5, 7, 10, 14, 21, 30, 45))
    return Offer(vendor, sku, price, lead)


def _price_rows(
    rng: random.Random, run: Run, price_ids: itertools.count[int], product: Product, offer: Offer
) -> list[Row]:
    """The current price; maybe an expired earlier one; maybe a quote in another currency."""
    current_from = None if rng.random() < 0.4 else run.today - rng.randint(30, 700)
    current_to = run.today + rng.randint(30, 300) if rng.random() < 0.05 else None
    prices = [(offer.price_cents, offer.vendor.currency_id, current_from, current_to)]
    count = rng.choices((1, 2, 3), (50, 35, 15))[0]
    if count >= 2:
        ended = (current_from or run.today - rng.randint(200, 700)) - 1
        started = None if rng.random() < 0.3 else ended - rng.randint(180, 500)
        prices.append(
            (offer.price_cents * rng.randint(90, 98) // 100, offer.vendor.currency_id, started, ended)
        )
    if count == 3:
        currency_id = rng.choice([c for c in ALTERNATIVE_CURRENCIES if c != offer.vendor.currency_id])
        converted = convert_cents(
            offer.price_cents * 102 // 100, RATE_TO_SEK[offer.vendor.currency_id], RATE_TO_SEK[currency_id]
        )
        prices.append((max(1, converted), currency_id, None, None))
    return [
        as_row(
            supplier_prices,
            Id=next(price_ids),
            ProductId=product.id,
            SupplierId=offer.vendor.id,
            SupplierProductNumber=offer.sku,
            Price=from_cents(cents),
            CurrencyId=currency_id,
            LeadTimeDays=offer.lead_days,
            ValidFrom=datetime_or_none(valid_from),
            ValidTo=datetime_or_none(valid_to),
        )
        for cents, currency_id, valid_from, valid_to in prices
    ]
