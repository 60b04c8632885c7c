"""The two demo tenants and how a database is seeded: base ERP data, then purchase-invoice
drafts with known ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from demo.drafts import write_drafts
from demo.generate import generate
from demo.payables import write_supplier_invoices


@dataclass(frozen=True)
class DemoTenant:
    iid: str
    currency: str
    seed: int
    id_offset: int


DEMO_TENANTS = (
    DemoTenant("demo", "SEK", seed=1, id_offset=0),
    DemoTenant("demo-b", "EUR", seed=2, id_offset=50_000_000),
)


def seed_database(
    url: str,
    *,
    seed: int,
    orders: int,
    today: date,
    currency: str = "SEK",
    id_offset: int = 0,
    draft_lines: int = 400,
    progress: bool = False,
) -> None:
    """Fill an empty database (any SQLAlchemy URL) with one generated tenant."""
    engine = sa.create_engine(url)
    try:
        generate(
            engine,
            seed=seed,
            orders=orders,
            today=today,
            default_currency=currency,
            id_offset=id_offset,
            progress=progress,
        )
        with engine.begin() as conn:
            write_supplier_invoices(conn, seed=seed, today=today)
        with engine.begin() as conn:
            write_drafts(conn, seed=seed, today=today, id_offset=id_offset, lines_target=draft_lines)
    finally:
        engine.dispose()
