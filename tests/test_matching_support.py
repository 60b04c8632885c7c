"""Small matching scenes on a real database: a vendor catalogue, purchase orders with goods
receipts, and purchase-invoice drafts over them (no tests here; the other matching tests use it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from benchmarks.matching import write_catalogue, write_reference_rows
from demo.drafts import Currency, Delivery, Offer, Rows, Vendor, vendors_with_prices
from tools import schema as s

TODAY = date(2026, 5, 20)
INVOICE_DAY = date(2026, 5, 10)
SEK = Currency(1, Decimal(1))


@dataclass(frozen=True)
class Shop:
    engine: sa.Engine
    vendors: list[Vendor]


@dataclass(frozen=True)
class InvoiceLine:
    offer: Offer | None
    qty: int
    price: Decimal | None = None  # default: the offer's price
    description: str | None = None
    is_extra_charge: bool = False


def open_shop(url: str) -> Shop:
    engine = sa.create_engine(url)
    s.metadata.create_all(engine)
    with engine.begin() as conn:
        write_reference_rows(conn)
        write_catalogue(conn, seed=3, vendors=2, products=40)
        vendors = vendors_with_prices(conn)
    return Shop(engine, vendors)


def receive(
    shop: Shop, vendor: Vendor, lines: Sequence[tuple[Offer, Sequence[int]]], day: date = INVOICE_DAY
) -> list[list[int]]:
    """One purchase order of ``vendor``: a PO line per offer, a receipt per quantity; the receipt ids."""
    with shop.engine.begin() as conn:
        rows = Rows(conn, 0)
        po = rows.purchase_order(vendor.id, day, SEK)
        ids = [
            rows.po_line(po, offer, offer.price_sek, [Delivery(Decimal(q), day) for q in qtys])
            for offer, qtys in lines
        ]
        rows.write(conn)
    return ids


def draft(shop: Shop, vendor: Vendor, lines: Sequence[InvoiceLine], day: date = INVOICE_DAY) -> int:
    d, dl = s.purchase_invoice_drafts, s.purchase_invoice_draft_lines
    with shop.engine.begin() as conn:
        draft_id = int(conn.execute(sa.select(sa.func.max(d.c.Id))).scalar() or 0) + 1
        first_line = int(conn.execute(sa.select(sa.func.max(dl.c.Id))).scalar() or 0) + 1
        rows = [_line_row(draft_id, first_line + n, n, line) for n, line in enumerate(lines)]
        total = sum((Decimal(str(r["TotalExVat"])) for r in rows), Decimal(0))
        midnight = datetime(day.year, day.month, day.day)
        conn.execute(
            d.insert().values(
                Id=draft_id,
                VendorId=vendor.id,
                InvoiceNumber=f"T-{draft_id}",
                DateInvoice=midnight,
                DateDue=None,
                CurrencyId=SEK.id,
                TotalExVat=total,
                TotalVat=Decimal(0),
                TotalIncVat=total,
                CreatedAt=midnight,
            )
        )
        conn.execute(dl.insert(), rows)
    return draft_id


def _line_row(draft_id: int, line_id: int, index: int, line: InvoiceLine) -> dict[str, object]:
    price = line.price if line.price is not None else (line.offer.price_sek if line.offer else Decimal(100))
    return {
        "Id": line_id,
        "DraftId": draft_id,
        "LineIndex": index,
        "VendorProductNumber": line.offer.sku if line.offer else None,
        "ProductNumber": line.offer.product_number if line.offer else None,
        "Description": line.description or (line.offer.description if line.offer else "Frakt"),
        "Quantity": Decimal(line.qty),
        "UnitPrice": price,
        "TotalExVat": (price * line.qty).quantize(Decimal("0.01")),
        "IsExtraCharge": line.is_extra_charge,
    }


def stored_matches(shop: Shop) -> list[tuple[int, int, int]]:
    m = s.purchase_invoice_matches
    with shop.engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.c.DraftId, m.c.LineIndex, m.c.InvTransactionId).order_by(m.c.InvTransactionId)
        )
        return [(r.DraftId, r.LineIndex, r.InvTransactionId) for r in rows]
