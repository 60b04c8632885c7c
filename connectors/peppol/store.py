"""Writing one received document into the tenant database, all of it or nothing.

``place`` runs inside one transaction: the inbound record, and when the document can be placed,
its draft, lines, source row and findings. What cannot be placed yet (unknown vendor or
currency, an invoice number the vendor already used for other amounts) is parked with its
content, so a later run imports it without the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.peppol.ubl import EInvoice, Line
from connectors.peppol.validation import Finding, validation_state
from connectors.peppol.vendors import VendorUnresolved, resolve_vendor
from tools import schema as s
from tools.inbound_documents import draft_findings, draft_sources, inbound_documents

ib, src = inbound_documents, draft_sources
IMPORT_LOCK = 0x45494E56  # "EINV": PostgreSQL advisory lock key of e-invoice imports
d, dl = s.purchase_invoice_drafts, s.purchase_invoice_draft_lines


@dataclass(frozen=True)
class Received:
    source: str
    external_id: str
    content: bytes
    received_at: datetime


@dataclass(frozen=True)
class ImportResult:
    """What became of a document: ``state`` imported / parked / failed, with the reason."""

    inbound_id: int
    state: str
    reason: str | None
    draft_id: int | None
    new_draft: bool = False


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before reading
        yield conn


def take_turn(conn: sa.Connection) -> None:
    """Imports into one database take turns until their transaction ends (draft ids are the next
    free ones, invoice numbers unique per vendor); SQLite's write lock does this already."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(IMPORT_LOCK)))


def record(conn: sa.Connection, source: str, external_id: str) -> sa.Row[Any] | None:
    stmt = sa.select(ib).where(ib.c.Source == source, ib.c.ExternalId == external_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).one_or_none()


def save_record(
    conn: sa.Connection,
    doc: Received,
    state: str,
    reason: str | None,
    *,
    invoice: EInvoice | None = None,
    draft_id: int | None = None,
) -> ImportResult:
    """Insert or update the document's inbound record; the content is kept until it is imported."""
    reason = reason[:1000] if reason else None
    values = {
        "State": state,
        "Reason": reason,
        "DraftId": draft_id,
        "Content": None if state == "imported" else doc.content,
        "UpdatedAt": utc_now(),
    } | _described(invoice)
    existing = record(conn, doc.source, doc.external_id)
    if existing is None:
        values |= {"Source": doc.source, "ExternalId": doc.external_id, "ReceivedAt": doc.received_at}
        inbound_id = conn.execute(
            sa.insert(ib).values(values | {"Attempts": 1}).returning(ib.c.Id)
        ).scalar_one()
    else:
        inbound_id = existing.Id
        conn.execute(
            sa.update(ib).where(ib.c.Id == inbound_id).values(values | {"Attempts": existing.Attempts + 1})
        )
    return ImportResult(inbound_id, state, reason, draft_id, new_draft=False)


def _described(invoice: EInvoice | None) -> dict[str, object]:
    if invoice is None:
        return {}
    return {
        "DocumentType": invoice.document_type,
        "InvoiceNumber": invoice.number[:100],
        "SupplierName": (invoice.supplier.name or "")[:200] or None,
        "SupplierIdentifiers": invoice.supplier.described()[:500],
    }


class Parked(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def place(conn: sa.Connection, doc: Received, invoice: EInvoice, findings: list[Finding]) -> ImportResult:
    """Make the draft, or park the document saying why; the record says which."""
    try:
        vendor_id = resolve_vendor(conn, invoice.supplier)
        currency_id = _currency(conn, invoice.currency)
        same = _same_invoice(conn, vendor_id, invoice)
    except (VendorUnresolved, Parked) as exc:
        return save_record(conn, doc, "parked", exc.reason, invoice=invoice)
    if same is not None:
        reason = f"the same invoice as {same.Source} document {same.ExternalId} (draft {same.DraftId})"
        return save_record(conn, doc, "imported", reason, invoice=invoice, draft_id=same.DraftId)
    draft_id = _insert_draft(conn, invoice, vendor_id, currency_id, doc)
    _insert_source(conn, draft_id, doc, invoice, vendor_id, findings)
    summary = _findings_summary(findings)
    result = save_record(conn, doc, "imported", summary, invoice=invoice, draft_id=draft_id)
    return ImportResult(result.inbound_id, "imported", result.reason, draft_id, new_draft=True)


def _currency(conn: sa.Connection, iso_code: str) -> int:
    found = conn.execute(sa.select(s.currencies.c.Id).where(s.currencies.c.IsoCode == iso_code)).scalar()
    if found is None:
        raise Parked(f"the currency {iso_code[:10]} is not in the tenant's currency table")
    return int(found)


def _same_invoice(conn: sa.Connection, vendor_id: int, invoice: EInvoice) -> Any:
    """An earlier e-invoice draft with this vendor's invoice number: the same document again, or,
    with other amounts, a number the supplier reused (parked for a person to look at)."""
    row = conn.execute(
        sa.select(src.c.DraftId, src.c.Source, src.c.ExternalId, d.c.TotalExVat, d.c.TotalIncVat)
        .join(d, d.c.Id == src.c.DraftId)
        .where(
            src.c.VendorId == vendor_id,
            src.c.DocumentType == invoice.document_type,
            src.c.InvoiceNumber == invoice.number,
        )
    ).one_or_none()
    if row is None:
        return None
    stored = (_cents(row.TotalExVat), _cents(row.TotalIncVat))
    if stored != (_cents(invoice.total_ex_vat), _cents(invoice.total_inc_vat)):
        raise Parked(
            f"the vendor's invoice number {invoice.number} is already draft {row.DraftId} with other "
            f"amounts ({row.TotalIncVat} against {invoice.total_inc_vat}); a supplier's invoice number "
            "is unique (BT-1), so a person has to decide"
        )
    return row


def _cents(amount: object) -> Decimal:
    return Decimal(str(amount)).quantize(Decimal("0.01"))


def _next_id(conn: sa.Connection, column: sa.Column[int]) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1)).scalar_one())


def _insert_draft(
    conn: sa.Connection, invoice: EInvoice, vendor_id: int, currency_id: int, doc: Received
) -> int:
    draft_id = _next_id(conn, d.c.Id)
    conn.execute(
        sa.insert(d).values(
            Id=draft_id,
            VendorId=vendor_id,
            InvoiceNumber=invoice.number,
            DateInvoice=datetime.combine(invoice.issue_date, datetime.min.time()),
            DateDue=datetime.combine(invoice.due_date, datetime.min.time()) if invoice.due_date else None,
            CurrencyId=currency_id,
            TotalExVat=invoice.total_ex_vat,
            TotalVat=invoice.total_vat,
            TotalIncVat=invoice.total_inc_vat,
            CreatedAt=doc.received_at,
        )
    )
    first_line_id = _next_id(conn, dl.c.Id)
    products = _product_numbers_by_gtin(conn, invoice.lines)
    conn.execute(
        sa.insert(dl),
        [_line_row(first_line_id + n, draft_id, line, products) for n, line in enumerate(invoice.lines)],
    )
    return draft_id


def _product_numbers_by_gtin(conn: sa.Connection, lines: tuple[Line, ...]) -> dict[str, str]:
    gtins = {line.gtin for line in lines if line.gtin and not line.buyer_item_id}
    if not gtins:
        return {}
    p = s.products
    rows = conn.execute(sa.select(p.c.Barcode, p.c.ProductNumber).where(p.c.Barcode.in_(gtins)))
    return {r.Barcode: r.ProductNumber for r in rows}


def _line_row(line_id: int, draft_id: int, line: Line, products: dict[str, str]) -> dict[str, object]:
    product_number = line.buyer_item_id or (products.get(line.gtin) if line.gtin else None)
    return {
        "Id": line_id,
        "DraftId": draft_id,
        "LineIndex": line.index,
        "VendorProductNumber": line.seller_item_id[:40] if line.seller_item_id else None,
        "ProductNumber": product_number[:40] if product_number else None,
        "Description": line.description[:200],
        "Quantity": line.quantity,
        "UnitPrice": line.unit_price,
        "TotalExVat": line.total,
        "IsExtraCharge": line.is_extra_charge,
    }


def _insert_source(
    conn: sa.Connection,
    draft_id: int,
    doc: Received,
    invoice: EInvoice,
    vendor_id: int,
    findings: list[Finding],
) -> None:
    conn.execute(
        sa.insert(src).values(
            DraftId=draft_id,
            Source=doc.source,
            ExternalId=doc.external_id,
            DocumentType=invoice.document_type,
            OrderReference=invoice.order_reference[:100] if invoice.order_reference else None,
            ValidationState=validation_state(findings),
            FatalCount=sum(f.flag == "fatal" for f in findings),
            WarningCount=sum(f.flag != "fatal" for f in findings),
            VendorId=vendor_id,
            InvoiceNumber=invoice.number,
        )
    )
    if findings:
        conn.execute(
            sa.insert(draft_findings),
            [
                {
                    "DraftId": draft_id,
                    "RuleId": f.rule_id[:40],
                    "Flag": f.flag[:10],
                    "Location": f.location[:1000] if f.location else None,
                    "Text": f.text[:2000],
                }
                for f in findings
            ],
        )


def _findings_summary(findings: list[Finding]) -> str | None:
    fatal = sum(f.flag == "fatal" for f in findings)
    if not findings:
        return None
    rules = ", ".join(sorted({f.rule_id for f in findings})[:10])
    return f"imported with {fatal} fatal and {len(findings) - fatal} other EN 16931 findings ({rules})"
