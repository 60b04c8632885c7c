"""``GET /purchase-invoice-drafts`` (additive to v1): supplier-invoice drafts waiting to be matched."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools import search
from tools.inbound_documents import draft_sources, with_draft_source
from tools.matching.models import MatchResponse
from tools.matching.service import draft_summary_columns
from tools.paging import (
    Page,
    PagedParams,
    Paging,
    SortKey,
    TrustedPage,
    encode_cursor,
    fetch_page,
    fingerprint,
    read_trusted_page,
)
from tools.presence import has_table
from tools.text import contains
from tools.view import View, ViewContext, register
from tools.views.purchase_invoice_matches import suggest_matches_of
from tools.wire import Money, QueryDateTime, UtcDateTime, WireModel, to_db_datetime

d, c, cur, m = s.purchase_invoice_drafts, s.companies, s.currencies, s.purchase_invoice_matches
NEWEST_FIRST = [SortKey(d.c.DateInvoice, descending=True), SortKey(d.c.Id, descending=True)]
SCORED_CHUNK = 50  # drafts scored together per round while a readyToAutoMatch page fills
MatchState = Literal["open", "unmatched", "partial", "matched", "any"]


class DraftParams(PagedParams):
    vendor_id: int | None = Field(None, description="Only drafts of this vendor (company id)")
    vendor_name: str | None = Field(None, description="Substring of the vendor name, any case")
    match_state: MatchState = Field(
        "open",
        description="open (default: no line or only some lines matched yet) | unmatched | partial | "
        "matched (every line has a confirmed receipt) | any",
    )
    invoice_date_from: QueryDateTime | None = Field(None, description="dateInvoice on or after")
    invoice_date_to: QueryDateTime | None = Field(None, description="dateInvoice on or before")
    q: str | None = Field(None, description="Substring of the supplier's invoice number or vendor name")
    with_auto_eligible: bool = Field(
        False,
        description="Also fill autoEligibleLineCount and readyToAutoMatch (the matching scorer runs for "
        "each draft of the page, cached 30 s). Default false: they are null",
    )
    ready_to_auto_match: bool | None = Field(
        None,
        description="true: only drafts whose every unmatched goods line has an auto-eligible receipt "
        "(matching can confirm them without a person); false: only the others. Implies withAutoEligible",
    )

    @property
    def scored(self) -> bool:
        return self.with_auto_eligible or self.ready_to_auto_match is not None


class PurchaseInvoiceDraftDto(WireModel):
    invoice_id: int = Field(description="The draft's id: pass it to suggest_invoice_matches")
    vendor_id: int
    vendor_name: str
    vendor_orgno: str | None
    invoice_number: str = Field(description="The supplier's invoice number")
    date_invoice: UtcDateTime
    date_due: UtcDateTime | None
    currency_iso_code: str
    total_ex_vat: Money
    total_vat: Money
    total_inc_vat: Money
    line_count: int
    matched_line_count: int = Field(description="Lines with at least one confirmed goods receipt")
    match_state: Literal["unmatched", "partial", "matched"]
    source: str | None = Field(
        description="Where the draft came from: a received e-invoice's channel (maventa, file), "
        "null for drafts made in the ERP"
    )
    source_id: str | None = Field(description="The e-invoice's id at its source (for a file: its SHA-256)")
    document_type: Literal["invoice", "credit"] = Field(
        description="credit: a supplier credit note, stored with negative amounts"
    )
    order_reference: str | None = Field(description="The buyer's order reference on the e-invoice: a PO hint")
    validation_state: Literal["valid", "warnings", "fatal"] | None = Field(
        description="EN 16931 validation of the e-invoice: fatal = it breaks a rule that must hold "
        "(imported anyway, check it before paying); null for drafts made in the ERP"
    )
    validation_finding_count: int = Field(description="EN 16931 rules the e-invoice breaks (0 when valid)")
    auto_eligible_line_count: int | None = Field(
        description="Unmatched goods lines whose best goods receipt is isAutoEligible (see "
        "suggest_invoice_matches); null unless withAutoEligible or readyToAutoMatch is given"
    )
    ready_to_auto_match: bool | None = Field(
        description="Every unmatched goods line (freight and fees aside) is auto-eligible; null unless asked"
    )


@dataclass(frozen=True)
class AutoMatch:
    eligible_lines: int
    ready: bool


def auto_match(response: MatchResponse, matched_lines: set[int]) -> AutoMatch:
    """What the scorer says of a draft's goods lines that are not matched yet."""
    open_goods = [
        line
        for line in response.suggestions
        if not line.is_extra_charge and line.invoice_line_index not in matched_lines
    ]
    eligible = [line for line in open_goods if any(c.is_auto_eligible for c in line.candidates)]
    return AutoMatch(len(eligible), bool(open_goods) and len(eligible) == len(open_goods))


def _state_filter(state: MatchState, lines: Any, matched: Any) -> list[sa.ColumnElement[bool]]:
    return {
        "open": [matched < lines],
        "unmatched": [matched == 0],
        "partial": [matched > 0, matched < lines],
        "matched": [matched >= lines],
        "any": [],
    }[state]


def _filters(
    conn: sa.Connection, params: DraftParams, lines: Any, matched: Any
) -> list[sa.ColumnElement[bool]]:
    where = _state_filter(params.match_state, lines, matched)
    if params.vendor_id is not None:
        where.append(d.c.VendorId == params.vendor_id)
    if params.vendor_name:
        where.append(c.c.Id.in_(search.companies_matching(conn, params.vendor_name)))
    if params.invoice_date_from is not None:
        where.append(d.c.DateInvoice >= to_db_datetime(params.invoice_date_from))
    if params.invoice_date_to is not None:
        where.append(d.c.DateInvoice <= to_db_datetime(params.invoice_date_to))
    if params.q:
        named = c.c.Id.in_(search.companies_matching(conn, params.q))
        where.append(sa.or_(contains(d.c.InvoiceNumber, params.q), named))
    return where


def list_drafts(
    conn: sa.Connection, ctx: ViewContext, params: DraftParams
) -> TrustedPage[PurchaseInvoiceDraftDto]:
    lines, matched = draft_summary_columns()
    stmt = (
        sa.select(d, c.c.Name.label("VendorName"), c.c.Orgno, cur.c.IsoCode, lines, matched)
        .join(c, c.c.Id == d.c.VendorId)
        .join(cur, cur.c.Id == d.c.CurrencyId)
        .where(*_filters(conn, params, lines.element, matched.element))
    )
    stmt = with_draft_source(stmt, d.c.Id, has_table(conn, ctx, draft_sources))
    if params.ready_to_auto_match is not None:
        return _ready_page(conn, ctx, stmt, params.ready_to_auto_match)
    page = read_trusted_page(conn, stmt, NEWEST_FIRST, ctx.page, PurchaseInvoiceDraftDto, _draft)
    if not params.scored:
        return page
    scores = _auto_matches(conn, ctx, [draft["invoice_id"] for draft in page.values])
    values = [_with_auto_match(draft, scores[draft["invoice_id"]]) for draft in page.values]
    return replace(page, values=values)


def _ready_page(
    conn: sa.Connection, ctx: ViewContext, stmt: sa.Select[Any], ready: bool
) -> TrustedPage[PurchaseInvoiceDraftDto]:
    """Walks the drafts in their order, SCORED_CHUNK at a time, keeping those whose scores say
    ``ready`` until the page and one more are found; the cursor follows the page's last draft."""
    page, chunk = ctx.page, replace(ctx.page, page_size=SCORED_CHUNK, max_page_size=SCORED_CHUNK)
    kept: list[tuple[sa.RowMapping, AutoMatch]] = []
    while len(kept) <= page.size:
        rows, next_cursor = fetch_page(conn, stmt, NEWEST_FIRST, chunk)
        scores = _auto_matches(conn, ctx, [row._mapping["Id"] for row in rows])
        kept += [
            (row._mapping, scores[row._mapping["Id"]])
            for row in rows
            if scores[row._mapping["Id"]].ready == ready
        ]
        if next_cursor is None:
            break
        chunk = replace(chunk, cursor=next_cursor)
    values = [_with_auto_match(_draft(row), score) for row, score in kept[: page.size]]
    if len(kept) <= page.size:
        return TrustedPage(PurchaseInvoiceDraftDto, values, None, page)
    last = kept[page.size - 1][0]
    key = [last[f"_k{i}"] for i in range(len(NEWEST_FIRST))]
    next_cursor = encode_cursor(page.view, fingerprint(page.view, page.filters), key)
    return TrustedPage(PurchaseInvoiceDraftDto, values, next_cursor, page)


def _auto_matches(conn: sa.Connection, ctx: ViewContext, draft_ids: list[int]) -> dict[int, AutoMatch]:
    """The scorer's verdict per draft (through the suggest cache; the drafts not in it scored
    together), with one query for the lines already matched on all of them."""
    matched: dict[int, set[int]] = {draft_id: set() for draft_id in draft_ids}
    stmt = sa.select(m.c.DraftId, m.c.LineIndex).where(m.c.DraftId.in_(draft_ids))
    for draft_id, line_index in conn.execute(stmt):
        matched[draft_id].add(line_index)
    responses = suggest_matches_of(conn, ctx, draft_ids)
    return {draft_id: auto_match(responses[draft_id], matched[draft_id]) for draft_id in draft_ids}


def _with_auto_match(draft: Mapping[str, Any], score: AutoMatch) -> dict[str, Any]:
    return {**draft, "auto_eligible_line_count": score.eligible_lines, "ready_to_auto_match": score.ready}


def _draft(row: Mapping[Any, Any]) -> dict[str, Any]:
    lines, matched = row["lineCount"], row["matchedLineCount"]
    state = "unmatched" if matched == 0 else "matched" if matched >= lines else "partial"
    return {
        "invoice_id": row["Id"],
        "vendor_id": row["VendorId"],
        "vendor_name": row["VendorName"],
        "vendor_orgno": row["Orgno"],
        "invoice_number": row["InvoiceNumber"],
        "date_invoice": row["DateInvoice"],
        "date_due": row["DateDue"],
        "currency_iso_code": row["IsoCode"],
        "total_ex_vat": row["TotalExVat"],
        "total_vat": row["TotalVat"],
        "total_inc_vat": row["TotalIncVat"],
        "line_count": lines,
        "matched_line_count": matched,
        "match_state": state,
        "source": row["Source"],
        "source_id": row["ExternalId"],
        "document_type": row["DocumentType"] or "invoice",
        "order_reference": row["OrderReference"],
        "validation_state": row["ValidationState"],
        "validation_finding_count": row["FindingCount"] or 0,
        "auto_eligible_line_count": None,
        "ready_to_auto_match": None,
    }


register(
    View(
        name="purchase-invoice-drafts",
        tool="list_purchase_invoice_drafts",
        method="GET",
        path="/purchase-invoice-drafts",
        params=DraftParams,
        result=Page[PurchaseInvoiceDraftDto],
        query=list_drafts,
        paging=Paging(default=50, maximum=100),
        title="List supplier-invoice drafts to match",
        description=(
            "Supplier (purchase) invoice drafts waiting to be matched against goods receipts, newest "
            "invoice date first: vendor, the supplier's invoice number, dates, currency, totals, "
            "`lineCount` and `matchedLineCount`. By default only drafts not yet fully matched "
            "(`matchState=open`); use `matched` or `any` to see the rest. Use this to find the "
            "`invoiceId` to pass to suggest_invoice_matches. `readyToAutoMatch=true` answers which "
            "drafts can be matched automatically (every unmatched goods line has an auto-eligible "
            "receipt); `withAutoEligible=true` adds `autoEligibleLineCount` to every row."
        ),
    )
)
