"""Import one received e-invoice: parse safely, map, validate, then place it in one transaction.

The same document (source + external id) is imported once: a second import of an imported
document changes nothing; a parked or failed one is tried again. A document without an external
id (a file) is identified by the SHA-256 of its bytes.
"""

from __future__ import annotations

import hashlib
import weakref
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from connectors.peppol.store import ImportResult, Received, place, record, save_record, transaction, utc_now
from connectors.peppol.ubl import EInvoice, read_invoice
from connectors.peppol.validation import Finding, validate
from connectors.peppol.xml import MAX_DOCUMENT_BYTES, DocumentRefused, canonical_text, parse_ubl
from tools.inbound_documents import ensure_tables

WRITE_ATTEMPTS = 3
MAX_INVOICE_NUMBER = 40
_READY: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def import_document(
    engine: sa.Engine,
    content: bytes,
    *,
    source: str = "file",
    external_id: str | None = None,
    received_at: datetime | None = None,
) -> ImportResult:
    if engine not in _READY:
        ensure_tables(engine)
        _READY.add(engine)
    doc = Received(
        source=source,
        external_id=external_id or hashlib.sha256(content).hexdigest(),
        content=content if len(content) <= MAX_DOCUMENT_BYTES else b"",
        received_at=received_at or utc_now(),
    )
    done = _already_imported(engine, doc)
    if done is not None:
        return done
    try:
        invoice, findings = read_document(content)
    except DocumentRefused as exc:
        return _write(engine, doc, None, [], refused=exc.reason)
    return _write(engine, doc, invoice, findings)


def read_document(content: bytes) -> tuple[EInvoice, list[Finding]]:
    """The document's business terms and its EN 16931 findings, or ``DocumentRefused``."""
    root, kind = parse_ubl(content)
    invoice = read_invoice(root, kind)
    if len(invoice.number) > MAX_INVOICE_NUMBER:
        raise DocumentRefused(f"the invoice number (BT-1) is longer than {MAX_INVOICE_NUMBER} characters")
    return invoice, validate(canonical_text(root))


def _already_imported(engine: sa.Engine, doc: Received) -> ImportResult | None:
    with engine.connect() as conn:
        row = record(conn, doc.source, doc.external_id)
    if row is None or row.State != "imported":
        return None
    return ImportResult(row.Id, row.State, row.Reason, row.DraftId)


def _write(
    engine: sa.Engine,
    doc: Received,
    invoice: EInvoice | None,
    findings: list[Finding],
    *,
    refused: str | None = None,
) -> ImportResult:
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with transaction(engine) as conn:
                row = record(conn, doc.source, doc.external_id)
                if row is not None and row.State == "imported":  # a concurrent import won
                    return ImportResult(row.Id, row.State, row.Reason, row.DraftId)
                if invoice is None:
                    return save_record(conn, doc, "failed", refused)
                return place(conn, doc, invoice, findings)
        except IntegrityError:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def retry_parked(engine: sa.Engine) -> list[ImportResult]:
    """Try every parked document again from its stored content (its vendor may exist now)."""
    if engine not in _READY:
        ensure_tables(engine)
        _READY.add(engine)
    from tools.inbound_documents import inbound_documents as ib

    with engine.connect() as conn:
        parked = conn.execute(
            sa.select(ib.c.Source, ib.c.ExternalId, ib.c.Content, ib.c.ReceivedAt)
            .where(ib.c.State == "parked")
            .order_by(ib.c.ReceivedAt, ib.c.Id)
        ).all()
    return [
        import_document(
            engine, row.Content, source=row.Source, external_id=row.ExternalId, received_at=row.ReceivedAt
        )
        for row in parked
        if row.Content
    ]
