"""Vendor prices: ``GET /vendor-prices``, the suppliers of one product and their prices."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, PagedParams, Paging, SortKey, read_page
from tools.view import View, ViewContext, register
from tools.wire import Money, UtcDateTime, WireModel

sp, p, c, cur = s.supplier_prices, s.products, s.companies, s.currencies

# Cheapest first across currencies: compared in SEK at the currency table's rate. A product has
# few prices, so the sort runs over the rows ix_supplier_price_product finds for it. Rounded
# to the rate's six decimals so the cursor's copy of the key compares equal on SQLite (float).
PRICE_IN_SEK = sa.func.round(sp.c.Price * cur.c.RateToSek, 6, type_=sa.Numeric(24, 6))
CHEAPEST_FIRST = [SortKey(PRICE_IN_SEK), SortKey(sp.c.Id)]


class VendorPriceParams(PagedParams):
    product_id: int = Field(description="Required. The product (find its id with find_products)")
    supplier_id: int | None = Field(None, description="Only this supplier (a vendor company id)")
    currency_code: str | None = Field(None, description="Only prices in this currency, ISO code (SEK, EUR)")


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


def _price_filters(params: VendorPriceParams) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [sp.c.ProductId == params.product_id]
    if params.supplier_id is not None:
        where.append(sp.c.SupplierId == params.supplier_id)
    if params.currency_code:
        where.append(cur.c.IsoCode == params.currency_code.upper())
    return where


def list_vendor_prices(
    conn: sa.Connection, ctx: ViewContext, params: VendorPriceParams
) -> Page[VendorPriceDto]:
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
        )
        .join(p, p.c.Id == sp.c.ProductId)
        .join(c, c.c.Id == sp.c.SupplierId)
        .join(cur, cur.c.Id == sp.c.CurrencyId)
        .where(*_price_filters(params))
    )
    return read_page(conn, stmt, CHEAPEST_FIRST, ctx.page, _vendor_price)


def _vendor_price(row: sa.RowMapping) -> VendorPriceDto:
    return VendorPriceDto(
        product_id=row["ProductId"],
        product_number=row["ProductNumber"],
        supplier_id=row["SupplierId"],
        supplier_name=row["SupplierName"],
        supplier_product_number=row["SupplierProductNumber"],
        price=row["Price"],
        currency_iso_code=row["IsoCode"],
        lead_time_days=row["LeadTimeDays"],
        valid_from=row["ValidFrom"],
        valid_to=row["ValidTo"],
    )


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
            "article number, lead time and validity dates (null when not set)."
        ),
    )
)
