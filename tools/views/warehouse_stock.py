"""Warehouse stock: ``GET /warehouse-stock``, stock per product per warehouse location."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, PagedParams, Paging, SortKey, TrustedPage, read_trusted_page
from tools.view import View, ViewContext, register
from tools.wire import Quantity, WireModel

ps, p, w, loc = s.product_stock, s.products, s.warehouses, s.warehouse_locations

# The unique (ProductId, WarehouseId, WarehouseLocationId) constraint's index serves this order.
STOCK_ORDER = [SortKey(ps.c.ProductId), SortKey(ps.c.WarehouseId), SortKey(ps.c.WarehouseLocationId)]


class WarehouseStockParams(PagedParams):
    product_id: int | None = Field(None, description="Only this product (find its id with find_products)")
    warehouse_id: int | None = Field(None, description="Only this warehouse")
    location_id: int | None = Field(None, description="Only this warehouse location")


class WarehouseStockRowDto(WireModel):
    product_id: int
    product_number: str
    product_description: str
    warehouse_id: int
    warehouse_name: str
    location_id: int
    location_name: str
    qty_in_stock: Quantity
    qty_incoming: Quantity = Field(description="Expected in on open purchase orders")
    qty_outgoing: Quantity = Field(description="Reserved for open sales orders")
    qty_distributable: Quantity = Field(description="qtyInStock - qtyOutgoing + qtyIncoming")


def _stock_filters(params: WarehouseStockParams) -> list[sa.ColumnElement[bool]]:
    wanted = {
        ps.c.ProductId: params.product_id,
        ps.c.WarehouseId: params.warehouse_id,
        ps.c.WarehouseLocationId: params.location_id,
    }
    return [column == value for column, value in wanted.items() if value is not None]


def list_warehouse_stock(
    conn: sa.Connection, ctx: ViewContext, params: WarehouseStockParams
) -> TrustedPage[WarehouseStockRowDto]:
    stmt = (
        sa.select(
            ps.c.ProductId,
            p.c.ProductNumber,
            p.c.Description,
            ps.c.WarehouseId,
            w.c.Name.label("WarehouseName"),
            ps.c.WarehouseLocationId,
            loc.c.Name.label("LocationName"),
            ps.c.QtyInStock,
            ps.c.QtyIncoming,
            ps.c.QtyOutgoing,
        )
        .join(p, p.c.Id == ps.c.ProductId)
        .join(w, w.c.Id == ps.c.WarehouseId)
        .join(loc, loc.c.Id == ps.c.WarehouseLocationId)
        .where(*_stock_filters(params))
    )
    return read_trusted_page(conn, stmt, STOCK_ORDER, ctx.page, WarehouseStockRowDto, _stock_row)


def _stock_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "product_id": row["ProductId"],
        "product_number": row["ProductNumber"],
        "product_description": row["Description"],
        "warehouse_id": row["WarehouseId"],
        "warehouse_name": row["WarehouseName"],
        "location_id": row["WarehouseLocationId"],
        "location_name": row["LocationName"],
        "qty_in_stock": row["QtyInStock"],
        "qty_incoming": row["QtyIncoming"],
        "qty_outgoing": row["QtyOutgoing"],
        "qty_distributable": row["QtyInStock"] - row["QtyOutgoing"] + row["QtyIncoming"],
    }


register(
    View(
        name="warehouse-stock",
        tool="list_warehouse_stock",
        method="GET",
        path="/warehouse-stock",
        params=WarehouseStockParams,
        result=Page[WarehouseStockRowDto],
        query=list_warehouse_stock,
        paging=Paging(default=50, maximum=200),
        title="List warehouse stock",
        description=(
            "Stock per product per warehouse location: quantity in stock, incoming (open purchase "
            "orders), outgoing (reserved for sales orders) and `qtyDistributable` = qtyInStock - "
            "qtyOutgoing + qtyIncoming, i.e. what can still be promised. Filter by `productId`, "
            "`warehouseId` and/or `locationId`; with no filter it lists all stock. Sorted by "
            "productId, then warehouseId, then locationId. To check one product, resolve its id "
            "first with find_products. Use list_open_order_lines for what customers are waiting "
            "for."
        ),
    )
)
