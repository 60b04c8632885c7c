"""What the document line views (open order lines, sales invoice lines) share: the lines of
``Orders`` joined to ``OrderItems``, filtered by customer and product, labelled with the rows'
field names so that a row maps onto its model directly. A line view also passes its cursor to
``resume_bound`` on the first two sort keys (one table's), so the driving index starts there."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import PagedParams
from tools.planner_hints import looked_up

orders, items = s.orders, s.order_items


class LineParams(PagedParams):
    """Paging and the filters both line views have; a view adds its own to ``where``."""

    customer_id: int | None = Field(None, description="Only lines of this customer's documents")
    product_id: int | None = Field(
        None, description="Only lines of this product (find its id with find_products)"
    )

    def where(self, conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
        where = []
        if self.customer_id is not None:
            where.append(orders.c.CompanyId == self.customer_id)
        if self.product_id is not None:
            where.append(items.c.ProductId == self.product_id)
        return where


def lines(*columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The line, its product and its customer, beside the view's own ``columns``."""
    return (
        sa.select(
            items.c.Id.label("line_id"),
            items.c.ProductId.label("product_id"),
            looked_up(s.products.c.ProductNumber, items.c.ProductId).label("product_number"),
            items.c.Description.label("description"),
            items.c.QtyOrdered.label("qty_ordered"),
            items.c.QtyDelivered.label("qty_delivered"),
            orders.c.CompanyId.label("customer_id"),
            looked_up(s.companies.c.Name, orders.c.CompanyId).label("customer_name"),
            *columns,
        )
        .select_from(orders)
        .join(items, items.c.OrderId == orders.c.Id)
    )
