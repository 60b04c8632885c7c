"""Received supplier e-invoices: what came in, what became of it, and where each draft came from.

Written by ``connectors.peppol`` (an import writes a document's record, its draft, the draft's
source and its validation findings in one transaction); read by the drafts view and the
inbound-documents view. Same ``MetaData`` as ``tools.schema``.

- ``InboundDocument``: one row per received document, unique by (source, external id), with its
  state: ``imported`` (``DraftId`` set), ``parked`` (could not be placed yet, e.g. unknown
  vendor; ``Content`` kept so a re-run imports it) or ``failed`` (refused, with the reason).
- ``PurchaseInvoiceDraftSource``: one row per draft made from an e-invoice (source, external
  id, invoice or credit, the buyer's order reference, validation state).
- ``PurchaseInvoiceDraftFinding``: the EN 16931 validation findings of that document.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tools.schema import metadata

INBOUND_STATES = ("imported", "parked", "failed")
VALIDATION_STATES = ("valid", "warnings", "fatal")

inbound_documents = sa.Table(
    "InboundDocument",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("Source", sa.String(20), nullable=False),
    sa.Column("ExternalId", sa.String(100), nullable=False),
    sa.Column("State", sa.String(10), nullable=False),
    sa.Column("Reason", sa.String(1000), nullable=True),
    sa.Column("DraftId", sa.Integer, sa.ForeignKey("PurchaseInvoiceDraft.Id"), nullable=True),
    sa.Column("DocumentType", sa.String(10), nullable=True),
    sa.Column("InvoiceNumber", sa.String(100), nullable=True),
    sa.Column("SupplierName", sa.String(200), nullable=True),
    sa.Column("SupplierIdentifiers", sa.String(500), nullable=True),
    sa.Column("Content", sa.LargeBinary, nullable=True),
    sa.Column("Attempts", sa.Integer, nullable=False, default=1),
    sa.Column("ReceivedAt", sa.DateTime, nullable=False),
    sa.Column("UpdatedAt", sa.DateTime, nullable=False),
    sa.UniqueConstraint("Source", "ExternalId", name="uq_inbound_source_external_id"),
    sa.Index("ix_inbound_state_received", "State", "ReceivedAt", "Id"),
    sa.Index("ix_inbound_received", "ReceivedAt", "Id"),
    sa.Index("ix_inbound_source_state_received", "Source", "State", "ReceivedAt", "Id"),
    sa.Index("ix_inbound_draft", "DraftId"),
)

draft_sources = sa.Table(
    "PurchaseInvoiceDraftSource",
    metadata,
    sa.Column("DraftId", sa.Integer, sa.ForeignKey("PurchaseInvoiceDraft.Id"), primary_key=True),
    sa.Column("Source", sa.String(20), nullable=False),
    sa.Column("ExternalId", sa.String(100), nullable=False),
    sa.Column("DocumentType", sa.String(10), nullable=False),
    sa.Column("OrderReference", sa.String(100), nullable=True),
    sa.Column("ValidationState", sa.String(10), nullable=False),
    sa.Column("FatalCount", sa.Integer, nullable=False),
    sa.Column("WarningCount", sa.Integer, nullable=False),
    # One draft per supplier invoice number: the same invoice from two sources is one draft.
    sa.Column("VendorId", sa.Integer, sa.ForeignKey("Company.Id"), nullable=False),
    sa.Column("InvoiceNumber", sa.String(40), nullable=False),
    sa.UniqueConstraint("VendorId", "DocumentType", "InvoiceNumber", name="uq_draft_source_invoice"),
)

draft_findings = sa.Table(
    "PurchaseInvoiceDraftFinding",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("DraftId", sa.Integer, sa.ForeignKey("PurchaseInvoiceDraft.Id"), nullable=False),
    sa.Column("RuleId", sa.String(40), nullable=False),
    sa.Column("Flag", sa.String(10), nullable=False),
    sa.Column("Location", sa.String(1000), nullable=True),
    sa.Column("Text", sa.String(2000), nullable=False),
    sa.Index("ix_draft_finding_draft", "DraftId", "Id"),
)


def normalized_orgno(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """An organisation number as digits and capital letters only ("556677-8899" -> "5566778899").

    The constants are inlined, not bound, so the expression matches the index's exactly."""
    expr: sa.ColumnElement[str] = column
    for sep in ("-", " ", ".", "/"):
        expr = sa.func.replace(expr, sa.literal_column(f"'{sep}'"), sa.literal_column("''"))
    return sa.func.upper(expr)


def _orgno_index_ddl(bind: sa.Engine) -> str:
    # Not declared on ``Company``: the ERP's table keeps its own indexes, and reflection cannot
    # see expression indexes. Created with the first e-invoice import.
    expression = normalized_orgno(sa.column("Orgno")).compile(dialect=bind.dialect)
    return f'CREATE INDEX IF NOT EXISTS ix_company_orgno_normalized ON "Company" ({expression})'


TABLES = (inbound_documents, draft_sources, draft_findings)


def ensure_tables(bind: sa.Engine) -> None:
    """Create these tables (and the vendor index) in a tenant database made before they existed."""
    metadata.create_all(bind, tables=list(TABLES), checkfirst=True)
    with bind.begin() as conn:
        conn.exec_driver_sql(_orgno_index_ddl(bind))


_SOURCE_COLUMNS = {
    "Source": draft_sources.c.Source,
    "ExternalId": draft_sources.c.ExternalId,
    "DocumentType": draft_sources.c.DocumentType,
    "OrderReference": draft_sources.c.OrderReference,
    "ValidationState": draft_sources.c.ValidationState,
    "FindingCount": draft_sources.c.FatalCount + draft_sources.c.WarningCount,
}


def with_draft_source(stmt: sa.Select[Any], draft_id: sa.ColumnElement[int], present: bool) -> sa.Select[Any]:
    """A drafts query with where each draft came from (null columns when nothing came in yet)."""
    if not present:
        return stmt.add_columns(*(sa.null().label(name) for name in _SOURCE_COLUMNS))
    columns = (column.label(name) for name, column in _SOURCE_COLUMNS.items())
    return stmt.add_columns(*columns).outerjoin(draft_sources, draft_sources.c.DraftId == draft_id)
