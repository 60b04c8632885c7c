"""Purchase-invoice matching against the tenant database: suggest, confirm, match whole order.

``suggest`` reads the draft, its lines and the vendor's open receipts in three queries and lets
the scorer rank them. ``confirm`` and ``match_whole_order`` validate every pair, then write them
in one transaction; a pair already stored for the same draft line is a no-op. Races are settled
by the unique constraint on ``PurchaseInvoiceMatch.InvTransactionId`` (plus ``FOR UPDATE`` on the
draft row on PostgreSQL): the losing writer re-validates and either finds its pairs stored or
answers why not. Nothing here touches ``IsBooked``.

Given an ``Engine`` the writers commit themselves; given a ``Connection`` they write inside the
caller's open transaction (as a savepoint) or in one of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError

from tools import schema as s
from tools.errors import BadRequest, NotFound
from tools.matching.models import (
    ConfirmPair,
    ConfirmRequest,
    ConfirmResponse,
    MatchResponse,
    Tolerances,
    WholeOrderResponse,
)
from tools.matching.scorer import DraftHead, InvoiceLine, Receipt, distribute, suggest_matches
from tools.reference import PURCHASEORDER

WRITE_ATTEMPTS = 3

d = s.purchase_invoice_drafts
dl = s.purchase_invoice_draft_lines
m = s.purchase_invoice_matches
t = s.inv_transactions
oi = s.order_items
o = s.orders
st = s.order_statuses
stt = s.order_status_types


# -- reading ----------------------------------------------------------------------------------


def draft_head(conn: sa.Connection, draft_id: int, *, for_update: bool = False) -> DraftHead:
    stmt = (
        sa.select(d.c.Id, d.c.VendorId, d.c.DateInvoice, s.currencies.c.RateToSek)
        .join(s.currencies, s.currencies.c.Id == d.c.CurrencyId)
        .where(d.c.Id == draft_id)
    )
    row = conn.execute(stmt.with_for_update(of=d) if for_update else stmt).one_or_none()
    if row is None:
        raise NotFound(f"Purchase invoice draft {draft_id} not found")
    return DraftHead(row.Id, row.VendorId, row.DateInvoice.date(), Decimal(row.RateToSek))


def draft_lines(conn: sa.Connection, draft_id: int) -> list[InvoiceLine]:
    return draft_lines_of(conn, [draft_id])[draft_id]


def draft_lines_of(conn: sa.Connection, draft_ids: Sequence[int]) -> dict[int, list[InvoiceLine]]:
    """``draft_lines`` of several drafts in one query."""
    lines: dict[int, list[InvoiceLine]] = {draft_id: [] for draft_id in draft_ids}
    rows = conn.execute(
        sa.select(dl).where(dl.c.DraftId.in_(draft_ids)).order_by(dl.c.DraftId, dl.c.LineIndex)
    )
    for r in rows:
        lines[r.DraftId].append(
            InvoiceLine(
                index=r.LineIndex,
                vendor_sku=r.VendorProductNumber,
                product_number=r.ProductNumber,
                description=r.Description,
                quantity=Decimal(r.Quantity),
                unit_price=Decimal(r.UnitPrice),
                total_ex_vat=Decimal(r.TotalExVat),
                is_extra_charge=r.IsExtraCharge,
            )
        )
    return lines


def open_receipts(
    vendor_id: int, draft_id: int, *, order_id: int | None = None
) -> sa.Select[tuple[object, ...]]:
    """Unbooked goods receipts on the vendor's purchase orders, unclaimed by other drafts (with
    ``order_id``: on that order and unclaimed by any draft)."""
    stmt = _vendors_open_receipts([vendor_id])
    if order_id is None:
        return stmt.where(sa.or_(m.c.Id.is_(None), m.c.DraftId == draft_id))
    return stmt.where(o.c.Id == order_id, m.c.Id.is_(None))


def receipts(conn: sa.Connection, stmt: sa.Select[tuple[object, ...]]) -> list[Receipt]:
    return [_receipt(r) for r in conn.execute(stmt)]


def _receipt(r: sa.Row[Any]) -> Receipt:
    return Receipt(
        inv_transaction_id=r.Id,
        order_item_id=r.OrderItemId,
        order_id=r.OrderId,
        order_name=r.Name if r.Name else _po_name(r.PurchaseNumber),
        purchase_number=r.PurchaseNumber,
        product_id=r.ProductId,
        product_number=r.ProductNumber,
        vendor_sku=r.Sku,
        description=r.Description,
        quantity=Decimal(r.Qty),
        unit_price_sek=Decimal(r.UnitPriceSek),
        date=r.DateTransaction.date(),
    )


def _po_name(purchase_number: int | None) -> str | None:
    return None if purchase_number is None else f"PO-{purchase_number}"


def suggest(conn: sa.Connection, draft_id: int, tolerances: Tolerances) -> MatchResponse:
    head = draft_head(conn, draft_id)
    lines = draft_lines(conn, draft_id)
    found = receipts(conn, open_receipts(head.vendor_id, draft_id))
    return suggest_matches(head, lines, found, tolerances)


def suggest_many(
    conn: sa.Connection, draft_ids: Sequence[int], tolerances: Tolerances
) -> dict[int, MatchResponse]:
    """``suggest`` for several drafts (unknown ids are left out) in three queries instead of
    three per draft: the heads, the lines, and the open receipts of all their vendors with the
    draft that claimed each (a receipt is a draft's candidate when unclaimed or claimed by it,
    as in ``open_receipts``)."""
    heads_stmt = (
        sa.select(d.c.Id, d.c.VendorId, d.c.DateInvoice, s.currencies.c.RateToSek)
        .join(s.currencies, s.currencies.c.Id == d.c.CurrencyId)
        .where(d.c.Id.in_(draft_ids))
    )
    heads = [
        DraftHead(r.Id, r.VendorId, r.DateInvoice.date(), Decimal(r.RateToSek))
        for r in conn.execute(heads_stmt)
    ]
    if not heads:
        return {}
    lines = draft_lines_of(conn, [head.id for head in heads])
    per_vendor: dict[int, list[tuple[int | None, Receipt]]] = {head.vendor_id: [] for head in heads}
    stmt = _vendors_open_receipts(sorted(per_vendor))
    for row in conn.execute(stmt):
        per_vendor[row.VendorId].append((row.ClaimedBy, _receipt(row)))
    return {
        head.id: suggest_matches(
            head,
            lines[head.id],
            [
                r
                for claimed_by, r in per_vendor[head.vendor_id]
                if claimed_by is None or claimed_by == head.id
            ],
            tolerances,
        )
        for head in heads
    }


def _vendors_open_receipts(vendor_ids: Sequence[int]) -> sa.Select[tuple[object, ...]]:
    """``open_receipts`` of several vendors at once, each with its vendor and the draft that
    claimed it (null when none did)."""
    sp, p = s.supplier_prices, s.products
    sku = (
        sa.select(sp.c.SupplierId, sp.c.ProductId, sa.func.min(sp.c.SupplierProductNumber).label("Sku"))
        .where(sp.c.SupplierId.in_(vendor_ids))
        .group_by(sp.c.SupplierId, sp.c.ProductId)
        .subquery("vendor_sku")
    )
    return (
        sa.select(
            t.c.Id,
            t.c.OrderItemId,
            oi.c.OrderId,
            o.c.Name,
            o.c.PurchaseNumber,
            t.c.ProductId,
            p.c.ProductNumber,
            sa.func.coalesce(oi.c.VendorProductNumber, sku.c.Sku).label("Sku"),
            oi.c.Description,
            t.c.Qty,
            t.c.UnitPriceSek,
            t.c.DateTransaction,
            o.c.CompanyId.label("VendorId"),
            m.c.DraftId.label("ClaimedBy"),
        )
        .join_from(t, oi, oi.c.Id == t.c.OrderItemId)
        .join(o, o.c.Id == oi.c.OrderId)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(stt, stt.c.Id == st.c.OrderStatusTypeId)
        .join(p, p.c.Id == t.c.ProductId)
        .outerjoin(sku, sa.and_(sku.c.SupplierId == o.c.CompanyId, sku.c.ProductId == t.c.ProductId))
        .outerjoin(m, m.c.InvTransactionId == t.c.Id)
        .where(o.c.CompanyId.in_(vendor_ids), stt.c.SystemName == PURCHASEORDER, t.c.IsBooked.is_(False))
        .order_by(t.c.Id)
    )


# -- writing ----------------------------------------------------------------------------------

PairsFor = Callable[[sa.Connection, DraftHead], Sequence[ConfirmPair]]


def confirm(db: sa.Engine | sa.Connection, draft_id: int, request: ConfirmRequest) -> ConfirmResponse:
    _write_pairs(db, draft_id, lambda conn, head: request.matches)
    return ConfirmResponse(invoice_id=draft_id)


def match_whole_order(
    db: sa.Engine | sa.Connection, draft_id: int, order_id: int, tolerances: Tolerances
) -> WholeOrderResponse:
    def pairs(conn: sa.Connection, head: DraftHead) -> list[ConfirmPair]:
        _check_purchase_order(conn, order_id, head)
        found = receipts(conn, open_receipts(head.vendor_id, draft_id, order_id=order_id))
        placed = distribute(head, draft_lines(conn, draft_id), found, tolerances)
        if found and not placed:
            raise BadRequest(f"orderId {order_id}: draft {draft_id} has no goods line to attach receipts to")
        return [
            ConfirmPair(
                invoice_line_index=placed[r.inv_transaction_id],
                order_item_id=r.order_item_id,
                inv_transaction_id=r.inv_transaction_id,
            )
            for r in found
        ]

    attached = _write_pairs(db, draft_id, pairs)
    return WholeOrderResponse(invoice_id=draft_id, attached=attached)


def _check_purchase_order(conn: sa.Connection, order_id: int, head: DraftHead) -> None:
    stmt = (
        sa.select(o.c.CompanyId)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(stt, stt.c.Id == st.c.OrderStatusTypeId)
        .where(o.c.Id == order_id, stt.c.SystemName == PURCHASEORDER)
    )
    vendor_id = conn.execute(stmt).scalar_one_or_none()
    if vendor_id is None:
        raise NotFound(f"Purchase order {order_id} not found")
    if vendor_id != head.vendor_id:
        raise BadRequest(
            f"orderId {order_id} is from vendor {vendor_id}, the draft's vendor is {head.vendor_id}"
        )


def _write_pairs(db: sa.Engine | sa.Connection, draft_id: int, pairs_for: PairsFor) -> list[ConfirmPair]:
    """The pairs written (those already stored are not written again)."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            with _transaction(db) as conn:
                head = draft_head(conn, draft_id, for_update=True)
                new_rows = _validated(conn, head, pairs_for(conn, head))
                if new_rows:
                    conn.execute(m.insert(), new_rows)
            return [_attached(row) for row in new_rows]
        except IntegrityError:
            continue  # another request claimed one of these receipts first: validate again
    raise BadRequest(f"Matches of draft {draft_id} kept changing while saving; send the request again")


@contextmanager
def _transaction(db: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    if isinstance(db, sa.Engine):
        with db.begin() as conn:
            yield conn
    elif db.in_transaction():
        with db.begin_nested():
            yield db
    else:
        with db.begin():
            yield db


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the database says about one requested receipt."""

    order_item_id: int
    vendor_id: int
    is_purchase_order: bool
    is_booked: bool
    draft_id: int | None
    line_index: int | None


def _stored(conn: sa.Connection, receipt_ids: set[int]) -> dict[int, _Stored]:
    stmt = (
        sa.select(
            t.c.Id, t.c.OrderItemId, o.c.CompanyId, stt.c.SystemName, t.c.IsBooked, m.c.DraftId, m.c.LineIndex
        )
        .join_from(t, oi, oi.c.Id == t.c.OrderItemId)
        .join(o, o.c.Id == oi.c.OrderId)
        .join(st, st.c.Id == o.c.OrderStatusId)
        .join(stt, stt.c.Id == st.c.OrderStatusTypeId)
        .outerjoin(m, m.c.InvTransactionId == t.c.Id)
        .where(t.c.Id.in_(receipt_ids))
    )
    return {
        r.Id: _Stored(
            r.OrderItemId, r.CompanyId, r.SystemName == PURCHASEORDER, r.IsBooked, r.DraftId, r.LineIndex
        )
        for r in conn.execute(stmt)
    }


def _validated(conn: sa.Connection, head: DraftHead, pairs: Sequence[ConfirmPair]) -> list[dict[str, object]]:
    """The rows still to insert; BadRequest naming the first bad pair, before anything is written."""
    line_indexes = set(conn.execute(sa.select(dl.c.LineIndex).where(dl.c.DraftId == head.id)).scalars())
    stored = _stored(conn, {p.inv_transaction_id for p in pairs})
    line_of: dict[int, tuple[int, int]] = {}
    new_rows: list[dict[str, object]] = []
    now = datetime.now(UTC).replace(tzinfo=None)
    for n, pair in enumerate(pairs):
        problem = _pair_problem(pair, head, line_indexes, stored.get(pair.inv_transaction_id), line_of)
        if problem:
            raise BadRequest(
                f"matches[{n}] (invoiceLineIndex {pair.invoice_line_index}, "
                f"invTransactionId {pair.inv_transaction_id}): {problem}"
            )
        if pair.inv_transaction_id in line_of or _already_stored(pair, stored[pair.inv_transaction_id]):
            line_of.setdefault(pair.inv_transaction_id, (n, pair.invoice_line_index))
            continue
        line_of[pair.inv_transaction_id] = (n, pair.invoice_line_index)
        new_rows.append(_match_row(head.id, pair, now))
    return new_rows


def _already_stored(pair: ConfirmPair, stored: _Stored) -> bool:
    return stored.draft_id is not None and stored.line_index == pair.invoice_line_index


def _pair_problem(
    pair: ConfirmPair,
    head: DraftHead,
    line_indexes: set[int],
    stored: _Stored | None,
    line_of: dict[int, tuple[int, int]],
) -> str | None:
    if pair.invoice_line_index not in line_indexes:
        return f"invoice line {pair.invoice_line_index} does not exist on draft {head.id}"
    if stored is None or not stored.is_purchase_order:
        return "no goods receipt with this invTransactionId on a purchase order"
    if stored.vendor_id != head.vendor_id:
        return f"the receipt is from vendor {stored.vendor_id}, the draft's vendor is {head.vendor_id}"
    if stored.order_item_id != pair.order_item_id:
        return f"orderItemId {pair.order_item_id} is not the receipt's order line ({stored.order_item_id})"
    if stored.draft_id is not None and stored.draft_id != head.id:
        return f"the receipt is already confirmed on draft {stored.draft_id}"
    if stored.draft_id is not None and stored.line_index != pair.invoice_line_index:
        return f"the receipt is already confirmed on invoice line {stored.line_index} of this draft"
    if stored.is_booked and stored.draft_id is None:
        return "the receipt is already booked"
    earlier = line_of.get(pair.inv_transaction_id)
    if earlier is not None and earlier[1] != pair.invoice_line_index:
        return f"the receipt is also requested for invoice line {earlier[1]} (matches[{earlier[0]}])"
    return None


def _attached(row: dict[str, object]) -> ConfirmPair:
    return ConfirmPair.model_validate(
        {
            "invoiceLineIndex": row["LineIndex"],
            "orderItemId": row["OrderItemId"],
            "invTransactionId": row["InvTransactionId"],
        }
    )


def _match_row(draft_id: int, pair: ConfirmPair, now: datetime) -> dict[str, object]:
    return {
        "DraftId": draft_id,
        "LineIndex": pair.invoice_line_index,
        "OrderItemId": pair.order_item_id,
        "InvTransactionId": pair.inv_transaction_id,
        "CreatedAt": now,
    }


# -- the suggest cache and the drafts list ----------------------------------------------------


class SuggestCache:
    """Suggest responses per (tenant, draft) for ``ttl_seconds``. A response computed before the
    tenant's last invalidation is not stored, so a confirm is never hidden by a slower suggest.
    ``lookups`` counts hits and misses (a Prometheus counter: safe from any thread)."""

    def __init__(
        self,
        ttl_seconds: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[tuple[str, int], tuple[float, MatchResponse]] = {}
        self._tenant_invalidated: dict[str, float] = {}
        self._lock = threading.Lock()
        self.lookups = Counter(
            "asstio_matching_cache", "Match-suggestion cache lookups by result", ["result"], registry=None
        )
        self._hits, self._misses = self.lookups.labels("hit"), self.lookups.labels("miss")

    def get(self, tenant: str, draft_id: int) -> MatchResponse | None:
        with self._lock:
            entry = self._entries.get((tenant, draft_id))
            if entry is None or self.clock() - entry[0] >= self.ttl_seconds:
                self._misses.inc()
                return None
            self._hits.inc()
            return entry[1]

    def put(
        self, tenant: str, draft_id: int, response: MatchResponse, *, started_at: float | None = None
    ) -> None:
        """Store ``response``; ``started_at`` is the clock when its computation began."""
        now = self.clock()
        key = (tenant, draft_id)
        with self._lock:
            invalidated = self._tenant_invalidated.get(tenant, float("-inf"))
            if started_at is not None and invalidated >= started_at:
                return
            self._evict(now)
            self._entries[key] = (now if started_at is None else started_at, response)

    def invalidate_tenant(self, tenant: str) -> None:
        """Every draft of ``tenant``: a confirm claims receipts other drafts were offered."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant]:
                del self._entries[key]
            self._tenant_invalidated[tenant] = self.clock()

    def _evict(self, now: float) -> None:
        for key in [k for k, (at, _) in self._entries.items() if now - at >= self.ttl_seconds]:
            del self._entries[key]
        for tenant in [t for t, at in self._tenant_invalidated.items() if now - at >= self.ttl_seconds]:
            del self._tenant_invalidated[tenant]
        while len(self._entries) >= self.max_entries:
            del self._entries[min(self._entries, key=lambda k: self._entries[k][0])]


def draft_summary_columns() -> tuple[sa.Label[int], sa.Label[int]]:
    """``lineCount`` and ``matchedLineCount`` (lines with at least one confirmed receipt) of the
    ``PurchaseInvoiceDraft`` row in the enclosing select, as correlated scalar subqueries."""
    line_count = sa.select(sa.func.count()).where(dl.c.DraftId == d.c.Id).scalar_subquery()
    matched = (
        sa.select(sa.func.count(sa.distinct(m.c.LineIndex))).where(m.c.DraftId == d.c.Id).scalar_subquery()
    )
    return line_count.label("lineCount"), matched.label("matchedLineCount")
