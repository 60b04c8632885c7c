"""``GET /inbound-documents`` (additive to v1): received supplier e-invoices and what became of them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools.inbound_documents import draft_findings, draft_sources, inbound_documents
from tools.paging import Page, PagedParams, Paging, SortKey, fetch_page, page_of
from tools.presence import has_table
from tools.text import contains
from tools.view import View, ViewContext, register
from tools.wire import UtcDateTime, WireModel

ib, fnd = inbound_documents, draft_findings
InboundState = Literal["parked", "failed", "imported", "any"]


class InboundParams(PagedParams):
    state: InboundState = Field(
        "parked",
        description="parked (default: waiting, e.g. for an unknown vendor to be added) | failed "
        "(refused: not a readable UBL invoice) | imported (became a draft) | any",
    )
    source: str | None = Field(None, description="Only documents from this channel: maventa or file")
    q: str | None = Field(
        None, description="Substring of the supplier's invoice number or the supplier's name"
    )


class FindingDto(WireModel):
    rule_id: str = Field(description="The EN 16931 rule, e.g. BR-CO-15")
    flag: str = Field(description="fatal or warning")
    text: str


class InboundDocumentDto(WireModel):
    inbound_id: int
    source: str = Field(description="The channel it came through: maventa or file")
    external_id: str = Field(description="Its id at the source (for a file: the SHA-256 of its bytes)")
    state: Literal["imported", "parked", "failed"]
    reason: str | None = Field(description="Why it is parked or failed, or a note on how it was imported")
    document_type: Literal["invoice", "credit"] | None
    invoice_number: str | None = Field(description="The supplier's invoice number (BT-1)")
    supplier_name: str | None
    supplier_identifiers: str | None = Field(
        description="The organisation, VAT and Peppol ids the supplier gave: what to add to the vendor"
    )
    invoice_id: int | None = Field(description="The draft it became: pass it to suggest_invoice_matches")
    received_at: UtcDateTime
    updated_at: UtcDateTime
    attempts: int = Field(description="How many times it was imported or tried again")
    findings: list[FindingDto] = Field(description="The EN 16931 rules the document breaks (imported ones)")


def _filters(params: InboundParams) -> list[sa.ColumnElement[bool]]:
    where = [] if params.state == "any" else [ib.c.State == params.state]
    if params.source:
        where.append(ib.c.Source == params.source)
    if params.q:
        where.append(sa.or_(contains(ib.c.InvoiceNumber, params.q), contains(ib.c.SupplierName, params.q)))
    return where


def list_inbound(conn: sa.Connection, ctx: ViewContext, params: InboundParams) -> Page[InboundDocumentDto]:
    if not has_table(conn, ctx, draft_sources):
        return page_of([], None, ctx.page)  # nothing has been received yet
    stmt = sa.select(ib).where(*_filters(params))
    keys = [SortKey(ib.c.ReceivedAt, descending=True), SortKey(ib.c.Id, descending=True)]
    rows, next_cursor = fetch_page(conn, stmt, keys, ctx.page)
    findings = _findings(conn, [r.DraftId for r in rows if r.DraftId is not None])
    return page_of([_document(r._mapping, findings) for r in rows], next_cursor, ctx.page)


def _findings(conn: sa.Connection, draft_ids: list[int]) -> dict[int, list[FindingDto]]:
    by_draft: dict[int, list[FindingDto]] = defaultdict(list)
    if draft_ids:
        stmt = sa.select(fnd).where(fnd.c.DraftId.in_(draft_ids)).order_by(fnd.c.DraftId, fnd.c.Id)
        for r in conn.execute(stmt):
            by_draft[r.DraftId].append(FindingDto(rule_id=r.RuleId, flag=r.Flag, text=r.Text))
    return by_draft


def _document(row: Any, findings: dict[int, list[FindingDto]]) -> InboundDocumentDto:
    return InboundDocumentDto(
        inbound_id=row["Id"],
        source=row["Source"],
        external_id=row["ExternalId"],
        state=row["State"],
        reason=row["Reason"],
        document_type=row["DocumentType"],
        invoice_number=row["InvoiceNumber"],
        supplier_name=row["SupplierName"],
        supplier_identifiers=row["SupplierIdentifiers"],
        invoice_id=row["DraftId"],
        received_at=row["ReceivedAt"],
        updated_at=row["UpdatedAt"],
        attempts=row["Attempts"],
        findings=findings.get(row["DraftId"], []) if row["DraftId"] is not None else [],
    )


register(
    View(
        name="inbound-documents",
        tool="list_inbound_documents",
        method="GET",
        path="/inbound-documents",
        params=InboundParams,
        result=Page[InboundDocumentDto],
        query=list_inbound,
        paging=Paging(default=50, maximum=100),
        title="List received supplier e-invoices (parked ones by default)",
        description=(
            "Supplier e-invoices (Peppol BIS 3.0 / UBL) received from Maventa or as files, newest "
            "first, with what became of each. By default only `parked` ones: documents waiting "
            "because their supplier is not a known vendor yet (or their currency or invoice number "
            "needs a person); `reason` says why and `supplierIdentifiers` what to add, and they are "
            "imported on the next run once fixed. `failed` lists refused documents (not readable "
            "UBL, required terms missing); `imported` ones carry the draft id (`invoiceId`) and "
            "their EN 16931 `findings`. Use list_purchase_invoice_drafts for the drafts themselves."
        ),
    )
)
