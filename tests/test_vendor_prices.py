"""Vendor prices through both doors, against seeded SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer, walk
from tools import schema as s

PATH = "/vendor-prices"


@dataclass(frozen=True)
class SupplierPrice:
    id: int
    product_id: int
    supplier_id: int
    price: Decimal
    currency: str
    rate_to_sek: Decimal

    @property
    def cheapest_first(self) -> tuple[Decimal, int]:
        return self.price * self.rate_to_sek, self.id


def supplier_prices(server: LiveServer, tenant: str = "demo") -> list[SupplierPrice]:
    """Every SupplierPrice row, cheapest first in SEK, from the raw rows."""
    sp, cur = s.supplier_prices, s.currencies
    stmt = sa.select(
        sp.c.Id, sp.c.ProductId, sp.c.SupplierId, sp.c.Price, cur.c.IsoCode, cur.c.RateToSek
    ).join(cur, cur.c.Id == sp.c.CurrencyId)
    with sa.create_engine(server.settings.tenants[tenant]).connect() as conn:
        prices = [SupplierPrice(*row) for row in conn.execute(stmt)]
    return sorted(prices, key=lambda price: price.cheapest_first)


def most_offered_product(prices: list[SupplierPrice]) -> int:
    """The product with the most prices, preferring one priced in several currencies."""
    products = {price.product_id for price in prices}

    def offers(product: int) -> tuple[int, int]:
        mine = [price for price in prices if price.product_id == product]
        return len({price.currency for price in mine}), len(mine)

    return max(sorted(products), key=offers)


def offers(rows: list[dict[str, Any]]) -> list[tuple[int, str, float]]:
    return [(row["supplierId"], row["currencyIsoCode"], row["price"]) for row in rows]


def expected(prices: list[SupplierPrice]) -> list[tuple[int, str, float]]:
    return [(price.supplier_id, price.currency, float(price.price)) for price in prices]


async def test_a_products_prices_come_cheapest_in_sek_first_each_exactly_once(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    prices = supplier_prices(server)
    product = most_offered_product(prices)
    mine = [price for price in prices if price.product_id == product]
    assert len({price.currency for price in mine}) > 1, (
        "the demo data prices some products in several currencies"
    )
    assert offers(await walk(rest, PATH, productId=product, pageSize=1)) == expected(mine)


async def test_supplier_and_currency_narrow_the_list(server: LiveServer, rest: httpx.AsyncClient) -> None:
    prices = supplier_prices(server)
    product = most_offered_product(prices)
    mine = [price for price in prices if price.product_id == product]
    supplier, currency = mine[-1].supplier_id, mine[-1].currency
    by_supplier = [price for price in mine if price.supplier_id == supplier]
    assert offers(await walk(rest, PATH, productId=product, supplierId=supplier)) == expected(by_supplier)
    in_currency = [price for price in mine if price.currency == currency]
    assert offers(await walk(rest, PATH, productId=product, currencyCode=currency)) == expected(in_currency)
    assert await walk(rest, PATH, productId=product, currencyCode="XXX") == []


async def test_rows_have_every_field_of_the_seed_and_money_has_two_decimals(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    product = most_offered_product(supplier_prices(server))
    response = await rest.get(PATH, params={"productId": product})
    page = response.json()
    assert page["pageSizeApplied"] == 50
    assert set(page["items"][0]) == {
        "productId", "productNumber", "supplierId", "supplierName", "supplierProductNumber", "price",
        "currencyIsoCode", "leadTimeDays", "validFrom", "validTo",
        "isValid", "priceHome", "homeCurrencyIsoCode",  # additive (issue 14)
    }  # fmt: skip
    assert all(row["productId"] == product for row in page["items"])
    for raw in response.text.split('"price":')[1:]:
        assert len(raw.split(",")[0].split(".")[1]) == 2


async def test_product_id_is_required_and_page_size_is_clamped(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    missing = await rest.get(PATH)
    assert missing.status_code == 400
    assert missing.json()["code"] == "bad_request" and "productId" in missing.json()["message"]
    product = most_offered_product(supplier_prices(server))
    clamped = (await rest.get(PATH, params={"productId": product, "pageSize": 1000})).json()
    assert clamped["pageSizeApplied"] == 100
    bad: list[tuple[dict[str, Any], str]] = [
        ({"productId": "WID-12"}, "productId"),
        ({"productId": product, "pageSize": 0}, "pageSize"),
    ]
    for params, named in bad:
        response = await rest.get(PATH, params=params)
        assert response.status_code == 400 and named in response.json()["message"]


async def test_a_cursor_of_another_view_or_product_is_400(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    prices = supplier_prices(server)
    product = most_offered_product(prices)
    other_product = next(price.product_id for price in prices if price.product_id != product)
    cursor = (await rest.get(PATH, params={"productId": product, "pageSize": 1})).json()["nextCursor"]
    stock_cursor = (await rest.get("/warehouse-stock", params={"pageSize": 1})).json()["nextCursor"]
    for params in (
        {"productId": other_product, "cursor": cursor},
        {"productId": product, "cursor": stock_cursor},
    ):
        response = await rest.get(PATH, params=params)
        assert response.status_code == 400 and "cursor" in response.json()["message"]


async def test_prices_of_another_tenant_never_appear(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other = supplier_prices(server, "demo-b")
    assert await walk(rest, PATH, productId=most_offered_product(other)) == []


async def test_mcp_returns_the_same_body_as_rest(
    server: LiveServer, mcp: ClientSession, rest: httpx.AsyncClient
) -> None:
    product = most_offered_product(supplier_prices(server))
    first = (await rest.get(PATH, params={"productId": product, "pageSize": 2})).json()
    calls: list[dict[str, Any]] = [
        {"productId": product},
        {"productId": product, "pageSize": 2, "cursor": first["nextCursor"]},
    ]
    for arguments in calls:
        result = await mcp.call_tool("list_vendor_prices", arguments)
        assert not result.is_error
        rest_body = (await rest.get(PATH, params=arguments)).json()
        assert result.structured_content == rest_body
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
    missing = await mcp.call_tool("list_vendor_prices", {})
    assert missing.is_error and "productId" in missing.content[0].text  # type: ignore[union-attr]
