"""Warehouse stock through both doors, against seeded SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import LiveServer, walk
from tools import schema as s

PATH = "/warehouse-stock"

Place = tuple[int, int, int]  # product, warehouse, location: the documented order


def stock_rows(server: LiveServer, tenant: str = "demo") -> dict[Place, tuple[Decimal, Decimal, Decimal]]:
    """Every ProductStock row: (in stock, incoming, outgoing) per place, read from the raw rows."""
    ps = s.product_stock
    stmt = sa.select(
        ps.c.ProductId,
        ps.c.WarehouseId,
        ps.c.WarehouseLocationId,
        ps.c.QtyInStock,
        ps.c.QtyIncoming,
        ps.c.QtyOutgoing,
    )
    with sa.create_engine(server.settings.tenants[tenant]).connect() as conn:
        return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in conn.execute(stmt)}


def places(rows: list[dict[str, Any]]) -> list[Place]:
    return [(row["productId"], row["warehouseId"], row["locationId"]) for row in rows]


def busiest(values: list[int]) -> int:
    return max(set(values), key=values.count)


async def test_a_warehouse_lists_its_stock_by_product_and_location_each_row_once(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    stock = stock_rows(server)
    warehouse = busiest([place[1] for place in stock])
    rows = await walk(rest, PATH, warehouseId=warehouse, pageSize=20)
    assert places(rows) == sorted(place for place in stock if place[1] == warehouse)
    assert len(rows) > 20


async def test_each_filter_narrows_to_the_rows_the_raw_rows_give(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    stock = stock_rows(server)
    product = busiest([place[0] for place in stock])
    location = busiest([place[2] for place in stock])
    warehouse = next(place[1] for place in stock if place[2] == location)
    cases = [
        ({"productId": product, "pageSize": 1}, lambda p: p[0] == product),
        ({"locationId": location, "pageSize": 100}, lambda p: p[2] == location),
        ({"warehouseId": warehouse, "productId": product}, lambda p: p[:2] == (product, warehouse)),
        ({"warehouseId": warehouse, "locationId": location}, lambda p: p[1:] == (warehouse, location)),
    ]  # fmt: skip
    for params, wanted in cases:
        assert places(await walk(rest, PATH, **params)) == sorted(filter(wanted, stock)), params
    assert len(await walk(rest, PATH, productId=product, pageSize=1)) > 1


async def test_distributable_is_in_stock_minus_outgoing_plus_incoming(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    stock = stock_rows(server)
    page = (await rest.get(PATH, params={"pageSize": 200})).json()
    assert page["pageSizeApplied"] == 200
    for row in page["items"]:
        in_stock, incoming, outgoing = stock[row["productId"], row["warehouseId"], row["locationId"]]
        assert Decimal(str(row["qtyInStock"])) == in_stock
        assert Decimal(str(row["qtyDistributable"])) == in_stock - outgoing + incoming
        assert row["qtyDistributable"] == row["qtyInStock"] - row["qtyOutgoing"] + row["qtyIncoming"]
    assert set(page["items"][0]) == {
        "productId", "productNumber", "productDescription", "warehouseId", "warehouseName", "locationId",
        "locationName", "qtyInStock", "qtyIncoming", "qtyOutgoing", "qtyDistributable",
    }  # fmt: skip


async def test_page_size_defaults_to_fifty_and_is_clamped_to_two_hundred(rest: httpx.AsyncClient) -> None:
    assert (await rest.get(PATH)).json()["pageSizeApplied"] == 50
    clamped = (await rest.get(PATH, params={"pageSize": 1000})).json()
    assert clamped["pageSizeApplied"] == 200 and len(clamped["items"]) == 200


async def test_bad_parameters_and_foreign_cursors_are_400(rest: httpx.AsyncClient) -> None:
    customers_cursor = (await rest.get("/customers", params={"pageSize": 1})).json()["nextCursor"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"pageSize": 0}, "pageSize"),
        ({"warehouseId": "main"}, "warehouseId"),
        ({"cursor": customers_cursor}, "cursor"),
        ({"cursor": "Zm9vYmFy"}, "cursor"),
    ]
    for params, named in bad:
        response = await rest.get(PATH, params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "bad_request" and named in response.json()["message"]


async def test_stock_of_another_tenant_never_appears(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other = stock_rows(server, "demo-b")
    other_product = next(iter(other))[0]
    assert await walk(rest, PATH, productId=other_product) == []
    first_page = places((await rest.get(PATH, params={"pageSize": 200})).json()["items"])
    assert not set(first_page) & set(other)


async def test_mcp_returns_the_same_body_as_rest(mcp: ClientSession, rest: httpx.AsyncClient) -> None:
    first = (await rest.get(PATH, params={"pageSize": 3})).json()
    calls: list[dict[str, Any]] = [{"pageSize": 3}, {"pageSize": 3, "cursor": first["nextCursor"]}]
    for arguments in calls:
        result = await mcp.call_tool("list_warehouse_stock", arguments)
        assert not result.is_error
        rest_body = (await rest.get(PATH, params=arguments)).json()
        assert result.structured_content == rest_body
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
