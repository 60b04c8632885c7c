"""The search tables: a folded copy of the text people search for, one row per company, product
and document, keyed by the row's id (which is also the SQLite rowid the trigram index uses).

``Lower`` is the text lower-cased for all of Unicode; ``Plain`` is that text without
diacritics (``tools.search.fold``). The rows are derived data: whoever writes ``Company``,
``Product`` or ``Orders`` rewrites them with ``tools.search.index_companies`` /
``index_products`` / ``index_orders``. The indexes over them (FTS5 on SQLite, a GIN index of
each text's pairs and trigrams on PostgreSQL) are made by ``tools.search.create_search_indexes``.
"""

from __future__ import annotations

import sqlalchemy as sa

from tools.schema import metadata


def _search_table(name: str, key: str, *extra: sa.Column[str]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column(key, sa.Integer, primary_key=True, autoincrement=False),
        *extra,
        sa.Column("Lower", sa.Text, nullable=False),
        sa.Column("Plain", sa.Text, nullable=False),
    )


# The company's name.
company_search = _search_table("CompanySearch", "CompanyId")
# The product number, then the description; ``Number`` alone ranks exact numbers first.
product_search = _search_table("ProductSearch", "ProductId", sa.Column("Number", sa.Text, nullable=False))
# The document's name, then its party's name (so "kabel nordin" finds Nordin's cable order).
order_search = _search_table("OrderSearch", "OrderId")

SEARCH_TABLES = (company_search, product_search, order_search)
