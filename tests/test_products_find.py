"""products/find through both doors, against seeded SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer
from tools import schema as s

PATH = "/products/find"


@dataclass(frozen=True)
class Product:
    id: int
    number: str
    description: str
    barcode: str | None

    def rank(self, q: str) -> int | None:
        """The documented ranking, or None when the product does not match ``q``."""
        number, text = self.number.lower(), q.lower()
        if number == text:
            return 0
        if number.startswith(text):
            return 1
        if text in number:
            return 2
        return 3 if text in self.description.lower() or self.barcode == q else None


def products(server: LiveServer, tenant: str = "demo") -> list[Product]:
    p = s.products
    stmt = sa.select(p.c.Id, p.c.ProductNumber, p.c.Description, p.c.Barcode)
    with sa.create_engine(server.settings.tenants[tenant]).connect() as conn:
        return [Product(*row) for row in conn.execute(stmt)]


def expected(catalog: list[Product], q: str, limit: int = 10) -> list[int]:
    ranked = [
        (rank, product.number, product.id) for product in catalog if (rank := product.rank(q)) is not None
    ]
    return [product_id for _, _, product_id in sorted(ranked)[:limit]]


async def found(rest: httpx.AsyncClient, q: str, **params: Any) -> list[int]:
    rows = (await rest.get(PATH, params={"q": q} | params)).raise_for_status().json()
    return [row["productId"] for row in rows]


async def test_an_exact_product_number_ranks_first_then_prefixes_then_substrings(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    catalog = products(server)
    product = catalog[len(catalog) // 2]
    for q in (product.number, product.number.lower(), product.number[:-1], product.number[1:]):
        assert await found(rest, q, limit=20) == expected(catalog, q, 20), q
    assert (await found(rest, product.number))[0] == product.id


async def test_descriptions_and_barcodes_match_too(server: LiveServer, rest: httpx.AsyncClient) -> None:
    catalog = products(server)
    with_barcode = next(product for product in catalog if product.barcode)
    assert with_barcode.barcode is not None
    assert with_barcode.id in await found(rest, with_barcode.barcode)
    word = max(catalog[0].description.split(), key=len)
    assert await found(rest, word.upper(), limit=20) == expected(catalog, word.upper(), 20)
    assert await found(rest, "%") == expected(catalog, "%")
    assert await found(rest, "_") == expected(catalog, "_")


async def test_limit_defaults_to_ten_and_is_clamped_to_twenty(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    catalog = products(server)
    common = "a"
    assert len(expected(catalog, common, 100)) > 20
    assert await found(rest, common) == expected(catalog, common, 10)
    assert await found(rest, common, limit=50) == expected(catalog, common, 20)
    rows = (await rest.get(PATH, params={"q": catalog[0].number})).json()
    assert set(rows[0]) == {"productId", "productNumber", "description", "barcode", "isActive"}


async def test_a_missing_or_blank_q_and_a_limit_below_one_are_400(rest: httpx.AsyncClient) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a", "limit": 0}, "limit"),
    ]
    for params, named in bad:
        response = await rest.get(PATH, params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "bad_request" and named in response.json()["message"]


async def test_products_of_another_tenant_never_appear(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other = {product.id for product in products(server, "demo-b")}
    assert not set(await found(rest, "a", limit=20)) & other


async def test_mcp_returns_the_same_array_as_rest(mcp: ClientSession, rest: httpx.AsyncClient) -> None:
    calls: list[dict[str, Any]] = [{"q": "a"}, {"q": "1", "limit": 3}]
    for arguments in calls:
        result = await mcp.call_tool("find_products", arguments)
        assert not result.is_error
        rest_body = (await rest.get(PATH, params=arguments)).json()
        assert isinstance(rest_body, list) and rest_body
        assert result.structured_content == {"result": rest_body}
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
    blank = await mcp.call_tool("find_products", {"q": " "})
    assert blank.is_error and '"bad_request"' in blank.content[0].text  # type: ignore[union-attr]
