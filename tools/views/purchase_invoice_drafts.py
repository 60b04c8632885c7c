"""``GET /purchase-invoice-drafts`` (additive to v1): supplier-invoice drafts waiting to be matched."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.matching.service import draft_summary_columns
from tools.paging import Page, PagedParams, Paging, SortKey, read_page
from tools.text import contains
from tools.view import View, ViewContext, register
from tools.wire import Money, QueryDateTime, UtcDateTime, WireModel, to_db_datetime

d, c, cur = s.purchase_invoice_drafts, s.companies, s.currencies
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


def _state_filter(state: MatchState, lines: Any, matched: Any) -> list[sa.ColumnElement[bool]]:
    return {
        "open": [matched < lines],
        "unmatched": [matched == 0],
        "partial": [matched > 0, matched < lines],
        "matched": [matched >= lines],
        "any": [],
    }[state]


def _filters(params: DraftParams, lines: Any, matched: Any) -> list[sa.ColumnElement[bool]]:
    where = _state_filter(params.match_state, lines, matched)
    if params.vendor_id is not None:
        where.append(d.c.VendorId == params.vendor_id)
    if params.vendor_name:
        where.append(contains(c.c.Name, params.vendor_name))
    if params.invoice_date_from is not None:
        where.append(d.c.DateInvoice >= to_db_datetime(params.invoice_date_from))
    if params.invoice_date_to is not None:
        where.append(d.c.DateInvoice <= to_db_datetime(params.invoice_date_to))
    if params.q:
        where.append(sa.or_(contains(d.c.InvoiceNumber, params.q), contains(c.c.Name, params.q)))
    return where


def list_drafts(conn: sa.Connection, ctx: ViewContext, params: DraftParams) -> Page[PurchaseInvoiceDraftDto]:
    lines, matched = draft_summary_columns()
    stmt = (
        sa.select(d, c.c.Name.label("VendorName"), c.c.Orgno, cur.c.IsoCode, lines, matched)
        .join(c, c.c.Id == d.c.VendorId)
        .join(cur, cur.c.Id == d.c.CurrencyId)
        .where(*_filters(params, lines.element, matched.element))
    )
    keys = [SortKey(d.c.DateInvoice, descending=True), SortKey(d.c.Id, descending=True)]
    return read_page(conn, stmt, keys, ctx.page, _draft)


def _draft(row: sa.RowMapping) -> PurchaseInvoiceDraftDto:
    lines, matched = row["lineCount"], row["matchedLineCount"]
    state = "unmatched" if matched == 0 else "matched" if matched >= lines else "partial"
    return PurchaseInvoiceDraftDto(
        invoice_id=row["Id"],
        vendor_id=row["VendorId"],
        vendor_name=row["VendorName"],
        vendor_orgno=row["Orgno"],
        invoice_number=row["InvoiceNumber"],
        date_invoice=row["DateInvoice"],
        date_due=row["DateDue"],
        currency_iso_code=row["IsoCode"],
        total_ex_vat=row["TotalExVat"],
        total_vat=row["TotalVat"],
        total_inc_vat=row["TotalIncVat"],
        line_count=lines,
        matched_line_count=matched,
        match_state=state,
    )


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
            "`invoiceId` to pass to suggest_invoice_matches."
        ),
    )
)
