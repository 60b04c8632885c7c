"""Products: ``GET /products/find``, resolve a product from a number, part of one, a name or
a barcode. An array of ranked candidates, not a page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools import search
from tools.search_tables import product_search as ps
from tools.text import like_pattern
from tools.view import View, ViewContext, register
from tools.wire import Params, WireModel

p = s.products

MAX_LIMIT = 20


class ProductFindParams(Params):
    q: str = Field(
        min_length=1,
        description="Required. A product number, part of one, part of the description, or a barcode",
    )
    limit: int = Field(10, ge=1, description="Candidates to return. Default 10, max 20 (larger is clamped)")


class ProductFindDto(WireModel):
    product_id: int
    product_number: str
    description: str
    barcode: str | None
    is_active: bool


def match_rank(conn: sa.Connection, q: str) -> sa.ColumnElement[int]:
    """0 exact product number, 1 number prefix, 2 number substring, 3 every word as typed (case
    ignored) or the barcode, 4 the words only with diacritics ignored."""
    number, lower = ps.c.Number, q.lower()
    return sa.case(
        (number == lower, 0),
        (number.like(like_pattern(lower).removeprefix("%"), escape="\\"), 1),
        (number.like(like_pattern(lower), escape="\\"), 2),
        (sa.or_(search.has_lower_words(ps.c, q, conn.dialect.name), p.c.Barcode == q), 3),
        else_=4,
    )


def find_products(conn: sa.Connection, ctx: ViewContext, params: ProductFindParams) -> list[ProductFindDto]:
    """The products the index finds, each joined to its row as it is found (the database reads
    a match once and ranks it there, rather than gathering the ids first and reading every
    match again); a product whose barcode is ``q`` joins them (looked up first, by its index)."""
    q = params.q
    matches: search.Ids = search.products_matching(conn, q)
    by_barcode = conn.scalars(sa.select(p.c.Id).where(p.c.Barcode == q)).all()
    if by_barcode:
        matches = sa.union(matches, sa.select(p.c.Id).where(p.c.Id.in_(by_barcode)))
    found = matches.subquery("found")
    stmt = (
        sa.select(p.c.Id, p.c.ProductNumber, p.c.Description, p.c.Barcode, p.c.IsActive)
        .select_from(found.join(p, p.c.Id == next(iter(found.c))).join(ps, ps.c.ProductId == p.c.Id))
        .order_by(match_rank(conn, q), p.c.ProductNumber, p.c.Id)
        .limit(min(params.limit, MAX_LIMIT))
    )
    return [_candidate(row._mapping) for row in conn.execute(stmt)]


def _candidate(row: Any) -> ProductFindDto:
    return ProductFindDto(
        product_id=row["Id"],
        product_number=row["ProductNumber"],
        description=row["Description"],
        barcode=row["Barcode"],
        is_active=row["IsActive"],
    )


register(
    View(
        name="products-find",
        tool="find_products",
        method="GET",
        path="/products/find",
        params=ProductFindParams,
        result=list[ProductFindDto],
        query=find_products,
        title="Find products",
        description=(
            "Resolve a product from what a person calls it: `q` is a product number, part of one, "
            "words of the description in any order, or a barcode (case-insensitive; diacritics "
            "optional: horselskydd finds Hörselskydd; % and _ match literally). "
            "Returns an array (not a page) of at most `limit` candidates (default 10, max 20), "
            "best first: exact product number, then numbers starting with q, then numbers "
            "containing q, then description or exact barcode matches, then matches found only by "
            "ignoring diacritics; ties by product number. "
            "Inactive products are included with `isActive` false. Use it to get the `productId` "
            "that list_vendor_prices, list_warehouse_stock, list_open_order_lines and "
            "list_sales_invoice_lines filter on. If the right product is not among the results, "
            "ask with a more specific q."
        ),
    )
)
