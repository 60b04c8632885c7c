"""Vendor prices: ``GET /vendor-prices``, the suppliers of one product and their prices."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.errors import AsstioError
from tools.paging import Page, PagedParams, Paging, SortKey, TrustedPage, read_trusted_page
from tools.view import View, ViewContext, register
from tools.wire import Money, UtcDateTime, WireModel, midnight

sp, p, c, cur = s.supplier_prices, s.products, s.companies, s.currencies

# Cheapest first across currencies: compared in SEK at the currency table's rate. A product has
# few prices, so the sort runs over the rows ix_supplier_price_product finds for it. Rounded
# to the rate's six decimals so the cursor's copy of the key compares equal on SQLite (float).
PRICE_IN_SEK = sa.func.round(sp.c.Price * cur.c.RateToSek, 6, type_=sa.Numeric(24, 6))
CHEAPEST_FIRST = [SortKey(PRICE_IN_SEK), SortKey(sp.c.Id)]
# The tenant's home currency (``homeCurrency`` in its options; SEK unless configured) and the
# rate into it, RateToSek / RateToSek(home) to six decimals, as the company profile states it.
DEFAULT_HOME_CURRENCY = "SEK"
RATE_PLACES, CENT = Decimal("0.000001"), Decimal("0.01")


class VendorPriceParams(PagedParams):
    product_id: int = Field(description="Required. The product (find its id with find_products)")
    supplier_id: int | None = Field(None, description="Only this supplier (a vendor company id)")
    currency_code: str | None = Field(None, description="Only prices in this currency, ISO code (SEK, EUR)")
    valid_on: date | None = Field(
        None,
        description="Only prices valid on this date (ISO 8601, e.g. 2026-05-20): validFrom on or before "
        "it and validTo on or after it; an unset end is open",
    )
    valid_first: bool = Field(
        False,
        description="Rank the prices valid today (or on validOn) before the others, cheapest first "
        "within each group. Default false: plain cheapest first",
    )


class VendorPriceDto(WireModel):
    product_id: int
    product_number: str
    supplier_id: int
    supplier_name: str
    supplier_product_number: str | None = Field(description="The supplier's own article number")
    price: Money = Field(description="Unit price in currencyIsoCode")
    currency_iso_code: str
    lead_time_days: int | None
    valid_from: UtcDateTime | None
    valid_to: UtcDateTime | None
    is_valid: bool = Field(description="Valid today (or on validOn when given)")
    price_home: Money = Field(description="price in the company's home currency (homeCurrencyIsoCode)")
    home_currency_iso_code: str


def valid_on(day: date) -> sa.ColumnElement[bool]:
    moment = midnight(day)
    return sa.and_(
        sa.or_(sp.c.ValidFrom.is_(None), sp.c.ValidFrom <= moment),
        sa.or_(sp.c.ValidTo.is_(None), sp.c.ValidTo >= moment),
    )


def _price_filters(params: VendorPriceParams) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [sp.c.ProductId == params.product_id]
    if params.supplier_id is not None:
        where.append(sp.c.SupplierId == params.supplier_id)
    if params.currency_code:
        where.append(cur.c.IsoCode == params.currency_code.upper())
    if params.valid_on is not None:
        where.append(valid_on(params.valid_on))
    return where


def _order(valid: sa.ColumnElement[bool], params: VendorPriceParams) -> list[SortKey]:
    if not params.valid_first:
        return CHEAPEST_FIRST
    return [SortKey(sa.case((valid, 0), else_=1)), *CHEAPEST_FIRST]


def _home_rate(conn: sa.Connection, ctx: ViewContext) -> tuple[str, Decimal]:
    home = str(ctx.options.get("homeCurrency", DEFAULT_HOME_CURRENCY))
    rate = conn.scalar(sa.select(cur.c.RateToSek).where(cur.c.IsoCode == home))
    if not rate:
        raise AsstioError(f"The tenant's home currency {home} is not in its Currency table")
    return home, Decimal(rate)


def list_vendor_prices(
    conn: sa.Connection, ctx: ViewContext, params: VendorPriceParams
) -> TrustedPage[VendorPriceDto]:
    valid = valid_on(params.valid_on or ctx.today)
    home, home_rate = _home_rate(conn, ctx)
    stmt = (
        sa.select(
            sp.c.ProductId,
            p.c.ProductNumber,
            sp.c.SupplierId,
            c.c.Name.label("SupplierName"),
            sp.c.SupplierProductNumber,
            sp.c.Price,
            cur.c.IsoCode,
            sp.c.LeadTimeDays,
            sp.c.ValidFrom,
            sp.c.ValidTo,
            valid.label("IsValid"),
            cur.c.RateToSek,
        )
        .join(p, p.c.Id == sp.c.ProductId)
        .join(c, c.c.Id == sp.c.SupplierId)
        .join(cur, cur.c.Id == sp.c.CurrencyId)
        .where(*_price_filters(params))
    )
    return read_trusted_page(
        conn,
        stmt,
        _order(valid, params),
        ctx.page,
        VendorPriceDto,
        lambda row: _vendor_price(row, home, home_rate),
    )


def _vendor_price(row: Mapping[str, Any], home: str, home_rate: Decimal) -> dict[str, Any]:
    to_home = (Decimal(row["RateToSek"]) / home_rate).quantize(RATE_PLACES, ROUND_HALF_UP)
    return {
        "product_id": row["ProductId"],
        "product_number": row["ProductNumber"],
        "supplier_id": row["SupplierId"],
        "supplier_name": row["SupplierName"],
        "supplier_product_number": row["SupplierProductNumber"],
        "price": row["Price"],
        "currency_iso_code": row["IsoCode"],
        "lead_time_days": row["LeadTimeDays"],
        "valid_from": row["ValidFrom"],
        "valid_to": row["ValidTo"],
        "is_valid": bool(row["IsValid"]),
        "price_home": (Decimal(row["Price"]) * to_home).quantize(CENT, ROUND_HALF_UP),
        "home_currency_iso_code": home,
    }


register(
    View(
        name="vendor-prices",
        tool="list_vendor_prices",
        method="GET",
        path="/vendor-prices",
        params=VendorPriceParams,
        result=Page[VendorPriceDto],
        query=list_vendor_prices,
        paging=Paging(default=50, maximum=100),
        title="List vendor prices of a product",
        description=(
            "The suppliers of one product and their purchase prices, cheapest first. `productId` "
            "is required: resolve a product number or name to its id with find_products first. "
            "Prices are in each row's `currencyIsoCode`; the cheapest-first order compares them "
            "converted to SEK at the currency table's rate (ties by price row id), so the first "
            "row is the cheapest supplier even across currencies. Optional `supplierId` and "
            "`currencyCode` (exact ISO code, e.g. EUR) narrow the list. Includes the supplier's own "
            "article number, lead time and validity dates (null when not set). For the cheapest price "
            "that can be ordered now, pass `validOn` (today's date) or `validFirst=true`: each row "
            "says `isValid` and carries `priceHome`, the price in the company's home currency."
        ),
    )
)
