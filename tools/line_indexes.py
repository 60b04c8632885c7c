"""Covering indexes for the summaries over document lines, made on databases created before
them (``tools.schema`` declares them, so a new tenant gets them with its tables).

``summarize groupBy=product`` (and any summary over lines) joins a range of invoices to their
lines; on SQLite ``ix_orders_date_invoice_lines`` and ``ix_order_item_figures`` let that join
read index pages only. ``install`` is called by the same upgrade paths as the kept balances
(``tools.balances.install``: ``asstio-mcp index-search``, a sync run, the demo generator,
``bench``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex

from tools import schema as s

LINE_INDEXES = tuple(
    index
    for table in (s.orders, s.order_items)
    for index in table.indexes
    if index.name in ("ix_orders_date_invoice_lines", "ix_order_item_figures")
)


def install(conn: sa.Connection) -> bool:
    """Create the line indexes this database lacks (SQLite only); whether any was made."""
    if conn.dialect.name != "sqlite":
        return False
    inspector = sa.inspect(conn)
    made = False
    for index in LINE_INDEXES:
        assert index.table is not None
        if not inspector.has_table(index.table.name):
            continue
        if index.name in {i["name"] for i in inspector.get_indexes(index.table.name)}:
            continue
        conn.execute(CreateIndex(index, if_not_exists=True))
        made = True
    if made:
        conn.exec_driver_sql(f'ANALYZE "{s.order_items.name}"')  # the tenant's own sampling
        analyze_documents(conn)
    return made


def analyze_documents(conn: sa.Connection) -> None:
    """Whole-index statistics for the invoice-date indexes (a second at a million orders), the
    other statistics left as they are. Sampled ones (``PRAGMA analysis_limit``, demo/bulk.py)
    misjudge how many documents share an invoice date (most have none yet): the planner then
    skip-scans ``ix_orders_company_date_invoice`` or reads rows through ``ix_orders_date_invoice``
    instead of the range from ``ix_orders_date_invoice_lines`` alone. Both date indexes are
    measured the same way, so they are weighed alike."""
    if conn.dialect.name != "sqlite":
        return
    limit = conn.exec_driver_sql("PRAGMA analysis_limit").scalar_one()
    conn.exec_driver_sql("PRAGMA analysis_limit=0")
    try:
        for name in ("ix_orders_date_invoice", "ix_orders_date_invoice_lines"):
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    finally:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={int(limit)}")
