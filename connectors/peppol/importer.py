"""Import one received e-invoice: parse safely, map, validate, then place it in one transaction.

The same document (source + external id) is imported once: a second import of an imported
document changes nothing; a parked or failed one is tried again. A document without an external
id (a file) is identified by the SHA-256 of its bytes. Reading and validating happen before the
transaction (``prepare``); ``store`` writes inside the caller's transaction, so a connector can
commit a page of documents together with its cursor.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from connectors.peppol.store import (
    ImportResult,
    Received,
    place,
    record,
    save_record,
    take_turn,
    transaction,
    utc_now,
)
from connectors.peppol.ubl import EInvoice, read_invoice
from connectors.peppol.validation import Finding, validate
from connectors.peppol.xml import MAX_DOCUMENT_BYTES, DocumentRefused, canonical_text, parse_ubl
from tools.inbound_documents import ensure_tables
from tools.inbound_documents import inbound_documents as ib

WRITE_ATTEMPTS = 3
MAX_INVOICE_NUMBER = 40
_READY: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


@dataclass(frozen=True)
class Prepared:
    """A received document read and validated, ready to be stored."""

    doc: Received
    invoice: EInvoice | None
    findings: list[Finding] = field(default_factory=list)
    refused: str | None = None


def received(
    content: bytes,
    *,
    source: str = "file",
    external_id: str | None = None,
    received_at: datetime | None = None,
) -> Received:
    return Received(
        source=source,
        external_id=external_id or hashlib.sha256(content).hexdigest(),
        content=content if len(content) <= MAX_DOCUMENT_BYTES else b"",
        received_at=received_at or utc_now(),
    )


def prepare(doc: Received, content: bytes) -> Prepared:
    try:
        invoice, findings = read_document(content)
    except DocumentRefused as exc:
        return Prepared(doc, None, refused=exc.reason)
    return Prepared(doc, invoice, findings)


def read_document(content: bytes) -> tuple[EInvoice, list[Finding]]:
    """The document's business terms and its EN 16931 findings, or ``DocumentRefused``."""
    root, kind = parse_ubl(content)
    invoice = read_invoice(root, kind)
    if len(invoice.number) > MAX_INVOICE_NUMBER:
        raise DocumentRefused(f"the invoice number (BT-1) is longer than {MAX_INVOICE_NUMBER} characters")
    return invoice, validate(canonical_text(root))


def store(conn: sa.Connection, prepared: Prepared) -> ImportResult:
    """Write a prepared document inside the caller's transaction (a no-op once imported)."""
    doc = prepared.doc
    take_turn(conn)
    row = record(conn, doc.source, doc.external_id)
    if row is not None and row.State == "imported":
        return ImportResult(row.Id, row.State, row.Reason, row.DraftId)
    if prepared.invoice is None:
        return save_record(conn, doc, "failed", prepared.refused)
    return place(conn, doc, prepared.invoice, prepared.findings)


def ensure_ready(engine: sa.Engine) -> None:
    if engine not in _READY:
        ensure_tables(engine)
        _READY.add(engine)


def import_document(
    engine: sa.Engine,
    content: bytes,
    *,
    source: str = "file",
    external_id: str | None = None,
    received_at: datetime | None = None,
) -> ImportResult:
    ensure_ready(engine)
    doc = received(content, source=source, external_id=external_id, received_at=received_at)
    done = imported_already(engine, doc.source, [doc.external_id])
    if doc.external_id in done:
        return done[doc.external_id]
    prepared = prepare(doc, content)
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with transaction(engine) as conn:
                return store(conn, prepared)
        except IntegrityError:  # a concurrent import of the same document or draft id won
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def imported_already(engine: sa.Engine, source: str, external_ids: list[str]) -> dict[str, ImportResult]:
    """Which of these documents are imported already."""
    return {
        key: result
        for key, result in _known(engine, source, external_ids).items()
        if result.state == "imported"
    }


def received_already(engine: sa.Engine, source: str, external_ids: list[str]) -> set[str]:
    """Which of these documents a poller need not download again: imported, or parked with
    their content (a parked document is tried again from what was stored)."""
    return {key for key, result in _known(engine, source, external_ids).items() if result.state != "failed"}


def _known(engine: sa.Engine, source: str, external_ids: list[str]) -> dict[str, ImportResult]:
    if not external_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ib.c.Id, ib.c.ExternalId, ib.c.State, ib.c.Reason, ib.c.DraftId).where(
                ib.c.Source == source, ib.c.ExternalId.in_(external_ids)
            )
        ).all()
    return {r.ExternalId: ImportResult(r.Id, r.State, r.Reason, r.DraftId) for r in rows}


def parked_documents(engine: sa.Engine) -> list[Prepared]:
    """Every parked document read again from its stored content, oldest first."""
    ensure_ready(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ib.c.Source, ib.c.ExternalId, ib.c.Content, ib.c.ReceivedAt)
            .where(ib.c.State == "parked", ib.c.Content.is_not(None))
            .order_by(ib.c.ReceivedAt, ib.c.Id)
        ).all()
    return [prepare(Received(r.Source, r.ExternalId, r.Content, r.ReceivedAt), r.Content) for r in rows]


def retry_parked(engine: sa.Engine) -> list[ImportResult]:
    """Try every parked document again (its vendor may exist now), each in its own transaction."""
    results = []
    for prepared in parked_documents(engine):
        with transaction(engine) as conn:
            results.append(store(conn, prepared))
    return results
