"""Suggest latency: a 50-line draft against 500 open receipts of one vendor, in a temp SQLite file.

``write_catalogue`` also gives tests a small database without the base generator: the reference
rows, some vendors, products from the demo's article range and supplier prices with SKUs.
"""

from __future__ import annotations

import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from demo import truth
from demo.articles import article_range
from demo.drafts import write_drafts
from demo.names import vendor_code, vendor_sku
from tools import schema as s
from tools.matching.models import Tolerances
from tools.matching.service import suggest
from tools.reference import CURRENCIES, STATUS_TYPES, STATUSES

TODAY = date(2026, 5, 20)
VENDOR_NAMES = ("Nordic Widgets AB", "Schrauben-Müller GmbH", "Verktygsgrossisten i Norr AB", "Åkes Järn AB")


def write_reference_rows(conn: sa.Connection) -> None:
    conn.execute(
        s.currencies.insert(),
        [{"Id": c.id, "IsoCode": c.iso_code, "Name": c.name, "RateToSek": c.rate_to_sek} for c in CURRENCIES],
    )
    conn.execute(
        s.order_status_types.insert(),
        [{"Id": i, "SystemName": system, "Name": name} for i, (system, name) in STATUS_TYPES.items()],
    )
    conn.execute(
        s.order_statuses.insert(),
        [
            {
                "Id": st.id,
                "OrderStatusTypeId": st.type_id,
                "Name": st.name,
                "IsOrderIntake": st.is_order_intake,
                "IsSales": st.is_sales,
                "IsPurchase": st.is_purchase,
            }
            for st in STATUSES
        ],
    )


def write_catalogue(
    conn: sa.Connection, *, seed: int, vendors: int, products: int, id_offset: int = 0
) -> list[int]:
    """Vendors (ids returned) each offering every product, with their own SKU style."""
    rng = random.Random(f"asstio-bench/{seed}")
    articles = article_range(rng, products)
    conn.execute(
        s.products.insert(),
        [
            {
                "Id": id_offset + i,
                "ProductNumber": a.number,
                "Description": a.description,
                "Barcode": None,
                "IsActive": True,
                "DefaultPrice": Decimal(a.price_sek_cents) / 100,
            }
            for i, a in enumerate(articles, 1)
        ],
    )
    vendor_ids = [id_offset + n for n in range(1, vendors + 1)]
    conn.execute(
        s.companies.insert(),
        [
            {
                "Id": v,
                "ContactNumber": 20000 + n,
                "Name": VENDOR_NAMES[n % len(VENDOR_NAMES)] + f" {n}",
                "IsCustomer": False,
                "IsVendor": True,
                "Inactive": False,
                "CreditStop": False,
            }
            for n, v in enumerate(vendor_ids)
        ],
    )
    conn.execute(
        s.supplier_prices.insert(),
        [
            {
                "Id": id_offset + n * products + i,
                "ProductId": id_offset + i,
                "SupplierId": v,
                "SupplierProductNumber": vendor_sku(
                    vendor_code(VENDOR_NAMES[n % len(VENDOR_NAMES)]), n % 3, a.number, i
                ),
                "Price": Decimal(a.price_sek_cents * rng.randint(55, 75) // 100) / 100,
                "CurrencyId": 1,
            }
            for n, v in enumerate(vendor_ids)
            for i, a in enumerate(articles, 1)
        ],
    )
    return vendor_ids


@dataclass(frozen=True)
class BenchResult:
    lines: int
    open_receipts: int
    runs: int
    median_ms: float
    p90_ms: float
    machine: str

    def format(self) -> str:
        return (
            f"suggest: {self.lines}-line draft x {self.open_receipts} open receipts, {self.runs} runs: "
            f"median {self.median_ms:.1f} ms, p90 {self.p90_ms:.1f} ms\nmachine: {self.machine}"
        )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}"
    )


def bench_suggest(*, runs: int = 50, lines: int = 50, receipts: int = 500, seed: int = 1) -> BenchResult:
    with tempfile.TemporaryDirectory() as tmp:
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            draft_id, open_count = _bench_database(engine, seed=seed, lines=lines, receipts=receipts)
            timings = _time_suggest(engine, draft_id, runs)
        finally:
            engine.dispose()
    ordered = sorted(timings)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return BenchResult(lines, open_count, runs, statistics.median(timings), p90, machine())


def _time_suggest(engine: sa.Engine, draft_id: int, runs: int) -> list[float]:
    tolerances = Tolerances()
    timings: list[float] = []
    with engine.connect() as conn:
        suggest(conn, draft_id, tolerances)  # warm the statement cache
        for _ in range(runs):
            started = time.perf_counter()
            suggest(conn, draft_id, tolerances)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _bench_database(engine: sa.Engine, *, seed: int, lines: int, receipts: int) -> tuple[int, int]:
    """One vendor with exactly ``receipts`` open receipts and a ``lines``-line draft over them."""
    s.metadata.create_all(engine)
    truth.metadata.create_all(engine)
    with engine.begin() as conn:
        write_reference_rows(conn)
        vendor_id = write_catalogue(conn, seed=seed, vendors=1, products=150)[0]
        batch = seed
        while _open_receipts(conn, vendor_id) < receipts:
            write_drafts(conn, seed=batch, today=TODAY, id_offset=0, lines_target=100)
            batch += 1
        _book_surplus(conn, vendor_id, receipts)
        draft_id = _wide_draft(conn, vendor_id, lines)
        return draft_id, _open_receipts(conn, vendor_id)


def _open_receipts(conn: sa.Connection, vendor_id: int) -> int:
    t, oi, o = s.inv_transactions, s.order_items, s.orders
    stmt = (
        sa.select(sa.func.count())
        .select_from(t)
        .join(oi, oi.c.Id == t.c.OrderItemId)
        .join(o, o.c.Id == oi.c.OrderId)
        .where(o.c.CompanyId == vendor_id, t.c.IsBooked.is_(False))
    )
    return int(conn.execute(stmt).scalar_one())


def _book_surplus(conn: sa.Connection, vendor_id: int, keep: int) -> None:
    t, oi, o = s.inv_transactions, s.order_items, s.orders
    open_ids = conn.execute(
        sa.select(t.c.Id)
        .join(oi, oi.c.Id == t.c.OrderItemId)
        .join(o, o.c.Id == oi.c.OrderId)
        .where(o.c.CompanyId == vendor_id, t.c.IsBooked.is_(False))
        .order_by(t.c.Id)
    ).scalars()
    surplus = list(open_ids)[keep:]
    if surplus:
        conn.execute(sa.update(t).where(t.c.Id.in_(surplus)).values(IsBooked=True))


def _wide_draft(conn: sa.Connection, vendor_id: int, lines: int) -> int:
    """A new draft whose lines are copies of ``lines`` generated goods lines of the vendor."""
    d, dl = s.purchase_invoice_drafts, s.purchase_invoice_draft_lines
    source = conn.execute(
        sa.select(dl)
        .join(d, d.c.Id == dl.c.DraftId)
        .where(d.c.VendorId == vendor_id, d.c.CurrencyId == 1)
        .order_by(dl.c.Id)
        .limit(lines)
    ).all()
    draft_id = int(conn.execute(sa.select(sa.func.max(d.c.Id))).scalar_one()) + 1
    line_id = int(conn.execute(sa.select(sa.func.max(dl.c.Id))).scalar_one()) + 1
    total = sum((Decimal(r.TotalExVat) for r in source), Decimal(0))
    day = datetime(TODAY.year, TODAY.month, TODAY.day) - (TODAY - date(2026, 2, 1))
    conn.execute(
        d.insert().values(
            Id=draft_id,
            VendorId=vendor_id,
            InvoiceNumber=f"BENCH-{draft_id}",
            DateInvoice=day,
            DateDue=None,
            CurrencyId=1,
            TotalExVat=total,
            TotalVat=Decimal(0),
            TotalIncVat=total,
            CreatedAt=day,
        )
    )
    conn.execute(
        dl.insert(),
        [
            {**r._asdict(), "Id": line_id + n, "DraftId": draft_id, "LineIndex": n}
            for n, r in enumerate(source)
        ],
    )
    return draft_id


if __name__ == "__main__":
    print(bench_suggest().format())
