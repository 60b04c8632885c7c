"""3-way matching scorer: ranks a vendor's open goods receipts against each purchase-invoice line.

Deterministic and pure (no I/O): the service loads the draft, its lines and the vendor's open
receipts in three queries and hands them here.

Signals (a candidate's ``reasons``); the score is their sum, capped at 100:

======================  ======  ==================================================================
reason                  points  when
======================  ======  ==================================================================
VendorSku               30      line's vendor SKU equals the receipt's (case, spaces, dashes ignored)
VendorSkuNear           20      the SKUs are one typo apart (a character changed, missing, extra,
                                or two neighbours swapped); SKUs of 4+ characters only
ProductNumber           20      line's product number equals the receipt's product number
Description             5-10    10 x word overlap (Jaccard) of the descriptions, when >= 0.5
QtyExact                15      qty variance is 0
QtyWithinTolerance      8       qty variance inside the qty tolerance
SplitDelivery           12      the receipt is part of a split set (below) whose sum is inside
PriceExact              15      price variance rounds to 0.00 SEK
PriceWithinTolerance    8       price variance inside the price tolerance
DateProximity           5-10    receipt inside the date window: 10 at 0 days, 5 at the window edge
SoloOpenLineBonus       5       the vendor has no other open receipt of this product
OrderCoherence          10      at least two other goods lines of the draft claimed receipts on
                                the same PO (second pass, after the draft-wide assignment)
======================  ======  ==================================================================

Only receipts with an identity signal (VendorSku, VendorSkuNear, ProductNumber or Description)
are candidates: a receipt of an unrelated product is never offered, however close its qty.

Variances: ``qtyVariance`` = invoice qty - received qty; ``priceVarianceSek`` = invoice unit
price x the draft currency's RateToSek - receipt UnitPriceSek (per unit, rounded to the öre);
``dateVarianceDays`` = receipt date - invoice date. A variance is inside when it is within the
absolute OR the percentage limit; the percentage is of the received qty and of the receipt's
unit price. The date is inside when ``|days| <= dateWindowDays``.

Split deliveries: one invoice line is often paid by several receipts (one PO line delivered in
parts, or the same product on two POs). When no single receipt carrying a SKU or
product-number signal is inside the qty tolerance, the scorer looks among those of one product
inside the date window (the 8 nearest) for the set of 2-4 receipts whose quantities add up
closest to the invoice qty, inside the qty tolerance; among equally close sets, the one spread
over the fewest PO lines, then the nearest in date. Each part
of that set is scored against the set's sum: its ``qtyVariance`` is invoice qty - sum of the set
and it earns SplitDelivery instead of a qty signal. Parts of one set are one answer, not rivals.

Draft-wide assignment: lines, best first, claim their best unclaimed group (a split set or one
receipt) when it scores at least ``CLAIM_FLOOR``. A receipt claimed by another line ranks after
the rest on this line and cannot be auto-eligible here (``ClaimedByOtherLine``).

``isAutoEligible`` = score >= autoEligibleScore AND every variance inside AND the candidate is
in the line's leading group AND that group leads every other unclaimed candidate of the line by
at least ``AMBIGUITY_MARGIN`` points (else ``Ambiguous``): two near-equal candidates are never
both, nor either, auto-eligible. On a draft with more than one goods line, a candidate must
also be corroborated by OrderCoherence (else ``OrderNotCorroborated``): an invoice pays for
one or a few POs, and a lone line pointing elsewhere is the classic decoy.

Unmatched receipts are the open receipts on the purchase orders the draft's lines claimed from
that no line claimed. Whole-order options rank the vendor's POs
with open receipts by the share of the draft's goods value (SEK) whose claimed receipts sit on
them, then by how close their open received value is to that goods value.

Extra-charge lines (IsExtraCharge, or a description word like Frakt, Fraktavgift, Freight,
Expeditionsavgift, any ...avgift, with no product number) get no goods candidates.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from tools.matching.models import (
    AutoBlock,
    LineSuggestion,
    MatchCandidate,
    MatchResponse,
    Tolerances,
    UnmatchedReceipt,
    WholeOrderOption,
)
from tools.wire import money

WEIGHTS: dict[str, int] = {
    "VendorSku": 30,
    "VendorSkuNear": 20,
    "ProductNumber": 20,
    "Description": 10,
    "QtyExact": 15,
    "QtyWithinTolerance": 8,
    "SplitDelivery": 12,
    "PriceExact": 15,
    "PriceWithinTolerance": 8,
    "DateProximity": 10,
    "SoloOpenLineBonus": 5,
    "OrderCoherence": 10,
}
AMBIGUITY_MARGIN = 6
CORROBORATING_LINES = 2
CLAIM_FLOOR = 50
TOP_N = 5
WHOLE_ORDER_OPTIONS = 5
SPLIT_POOL = 8
SPLIT_MAX_PARTS = 4
DESCRIPTION_MIN_OVERLAP = 0.5
NEAR_SKU_MIN_LENGTH = 4

EXTRA_CHARGE_WORDS = frozenset(
    {"frakt", "freight", "shipping", "porto", "emballage", "fee", "fees", "expedition", "handling"}
)


@dataclass(frozen=True, slots=True)
class DraftHead:
    id: int
    vendor_id: int
    invoice_date: date
    rate_to_sek: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    index: int
    vendor_sku: str | None
    product_number: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    total_ex_vat: Decimal
    is_extra_charge: bool


@dataclass(frozen=True, slots=True)
class Receipt:
    inv_transaction_id: int
    order_item_id: int
    order_id: int
    order_name: str | None
    purchase_number: int | None
    product_id: int
    product_number: str | None
    vendor_sku: str | None
    description: str
    quantity: Decimal
    unit_price_sek: Decimal
    date: date


# -- text keys --------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def sku_key(sku: str | None) -> str:
    return "".join(ch for ch in (sku or "").casefold() if ch.isalnum())


def words(text: str | None) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall((text or "").casefold()) if len(w) > 1 or w.isdigit())


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def one_typo_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one character changed, missing or extra, or two swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) != len(b):
        short, long = sorted((a, b), key=len)
        at = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
        return short[at:] == long[at + 1 :]
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    i, j = diffs[0], diffs[-1]
    return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]


def _deletions(key: str) -> set[str]:
    return {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}


def is_extra_charge(line: InvoiceLine) -> bool:
    if line.is_extra_charge:
        return True
    if line.product_number:
        return False
    return any(w in EXTRA_CHARGE_WORDS or w.endswith("avgift") for w in words(line.description))


# -- tolerances -------------------------------------------------------------------------------


def qty_inside(variance: Decimal, received: Decimal, tol: Tolerances) -> bool:
    return abs(variance) <= tol.qty_absolute or abs(variance) <= tol.qty_percent * abs(received)


def price_inside(variance: Decimal, receipt_price: Decimal, tol: Tolerances) -> bool:
    return abs(variance) <= tol.price_absolute_sek or abs(variance) <= tol.price_percent * abs(receipt_price)


def date_inside(days: int, tol: Tolerances) -> bool:
    return abs(days) <= tol.date_window_days


def candidate_inside(candidate: MatchCandidate, line_quantity: Decimal, tol: Tolerances) -> bool:
    """Every variance of a returned candidate inside its tolerance, from the response alone."""
    received = line_quantity - candidate.qty_variance
    return (
        qty_inside(candidate.qty_variance, received, tol)
        and price_inside(candidate.price_variance_sek, candidate.receipt_unit_price_sek, tol)
        and date_inside(candidate.date_variance_days, tol)
    )


def auto_eligibility_agrees(candidate: MatchCandidate, line_quantity: Decimal, tol: Tolerances) -> bool:
    """``isAutoEligible`` is what its score, variances and block reason say it is."""
    passes = candidate.score >= tol.auto_eligible_score and candidate_inside(candidate, line_quantity, tol)
    if candidate.auto_block_reason is not None:
        return passes and not candidate.is_auto_eligible
    return candidate.is_auto_eligible == passes


def sek(line: InvoiceLine, head: DraftHead) -> Decimal:
    return line.unit_price * head.rate_to_sek


# -- receipts index ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Keys:
    sku: str
    product_number: str
    words: frozenset[str]


def _line_keys(line: InvoiceLine) -> _Keys:
    return _Keys(sku_key(line.vendor_sku), (line.product_number or "").casefold(), words(line.description))


def _receipt_keys(receipt: Receipt) -> _Keys:
    return _Keys(
        sku_key(receipt.vendor_sku), (receipt.product_number or "").casefold(), words(receipt.description)
    )


class ReceiptIndex:
    """The vendor's open receipts, looked up by SKU, near SKU, product number and word."""

    def __init__(self, receipts: Sequence[Receipt]) -> None:
        self.receipts = receipts
        self.keys = [_receipt_keys(r) for r in receipts]
        self.open_per_product = Counter(r.product_id for r in receipts)
        self._by_sku: dict[str, list[int]] = defaultdict(list)
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        self._by_number: dict[str, list[int]] = defaultdict(list)
        self._by_word: dict[str, list[int]] = defaultdict(list)
        for i, keys in enumerate(self.keys):
            self._add(i, keys)

    def _add(self, i: int, keys: _Keys) -> None:
        if keys.sku:
            self._by_sku[keys.sku].append(i)
            for variant in _deletions(keys.sku):
                self._by_deletion[variant].add(keys.sku)
        if keys.product_number:
            self._by_number[keys.product_number].append(i)
        for word in keys.words:
            self._by_word[word].append(i)

    def related(self, line: _Keys) -> set[int]:
        found: set[int] = set(self._by_number.get(line.product_number, ())) if line.product_number else set()
        for sku in self._skus_near(line.sku):
            found.update(self._by_sku[sku])
        shared = Counter(at for word in line.words for at in self._by_word.get(word, ()))
        # Jaccard >= the minimum needs at least that share of the line's words in common.
        found.update(at for at, count in shared.items() if count >= DESCRIPTION_MIN_OVERLAP * len(line.words))
        return found

    def _skus_near(self, sku: str) -> set[str]:
        if not sku:
            return set()
        if len(sku) < NEAR_SKU_MIN_LENGTH:
            return {sku} & self._by_sku.keys()
        near = set().union(*(self._by_deletion.get(v, set()) for v in _deletions(sku)))
        return {s for s in near if s == sku or one_typo_apart(s, sku)}


# -- scoring ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Scored:
    receipt_at: int
    receipt: Receipt
    score: int
    reasons: list[str]
    qty_variance: Decimal
    price_variance_sek: Decimal
    date_variance_days: int
    inside: bool
    in_split: bool
    corroborated: bool = False

    def sort_key(self) -> tuple[int, int, int]:
        return (-self.score, abs(self.date_variance_days), self.receipt.inv_transaction_id)


@dataclass(frozen=True, slots=True)
class _Split:
    members: frozenset[int]
    total: Decimal


PRODUCT_REASONS = frozenset({"VendorSku", "VendorSkuNear", "ProductNumber"})


@functools.lru_cache(maxsize=65536)
def identity(line: _Keys, receipt: _Keys) -> tuple[int, tuple[str, ...]]:
    """Points and reasons saying the receipt is the invoiced product."""
    reasons: list[str] = []
    if line.sku and line.sku == receipt.sku:
        reasons.append("VendorSku")
    elif (
        line.sku
        and receipt.sku
        and len(line.sku) >= NEAR_SKU_MIN_LENGTH
        and one_typo_apart(line.sku, receipt.sku)
    ):
        reasons.append("VendorSkuNear")
    if line.product_number and line.product_number == receipt.product_number:
        reasons.append("ProductNumber")
    points = sum(WEIGHTS[r] for r in reasons)
    similarity = overlap(line.words, receipt.words)
    if similarity >= DESCRIPTION_MIN_OVERLAP:
        reasons.append("Description")
        points += round(WEIGHTS["Description"] * similarity)
    return points, tuple(reasons)


def date_points(days: int, tol: Tolerances) -> int:
    if tol.date_window_days == 0:
        return WEIGHTS["DateProximity"]
    return WEIGHTS["DateProximity"] - round(5 * abs(days) / tol.date_window_days)


@dataclass(frozen=True, slots=True)
class _Context:
    head: DraftHead
    tol: Tolerances
    index: ReceiptIndex


def score_pair(line: InvoiceLine, keys: _Keys, at: int, ctx: _Context, split: _Split | None) -> Scored | None:
    receipt = ctx.index.receipts[at]
    points, known = identity(keys, ctx.index.keys[at])
    if not known:
        return None
    reasons = list(known)
    in_split = split is not None and at in split.members
    received = split.total if split is not None and in_split else receipt.quantity
    qty_variance = line.quantity - received
    price_variance = money(sek(line, ctx.head) - receipt.unit_price_sek)
    days = (receipt.date - ctx.head.invoice_date).days
    inside_qty = qty_inside(qty_variance, received, ctx.tol)
    inside_price = price_inside(price_variance, receipt.unit_price_sek, ctx.tol)
    values = [_qty_reason(qty_variance, inside_qty, in_split), _price_reason(price_variance, inside_price)]
    for reason in filter(None, values):
        reasons.append(reason)
        points += WEIGHTS[reason]
    if date_inside(days, ctx.tol):
        reasons.append("DateProximity")
        points += date_points(days, ctx.tol)
    if ctx.index.open_per_product[receipt.product_id] == 1:
        reasons.append("SoloOpenLineBonus")
        points += WEIGHTS["SoloOpenLineBonus"]
    inside = inside_qty and inside_price and date_inside(days, ctx.tol)
    return Scored(
        at, receipt, min(points, 100), reasons, qty_variance, price_variance, days, inside, in_split
    )


def _qty_reason(variance: Decimal, inside: bool, in_split: bool) -> str | None:
    if in_split and inside:
        return "SplitDelivery"
    if variance == 0:
        return "QtyExact"
    return "QtyWithinTolerance" if inside else None


def _price_reason(variance: Decimal, inside: bool) -> str | None:
    if variance == 0:
        return "PriceExact"
    return "PriceWithinTolerance" if inside else None


def find_split(line: InvoiceLine, keys: _Keys, related: Iterable[int], ctx: _Context) -> _Split | None:
    """The 2-4 receipts of one product whose quantities add up closest to the invoice qty, when no
    single receipt of the product is inside the qty tolerance on its own."""
    by_product: dict[int, list[int]] = defaultdict(list)
    for at in related:
        receipt = ctx.index.receipts[at]
        if not PRODUCT_REASONS.intersection(identity(keys, ctx.index.keys[at])[1]):
            continue
        if qty_inside(line.quantity - receipt.quantity, receipt.quantity, ctx.tol):
            return None
        days = (receipt.date - ctx.head.invoice_date).days
        if receipt.quantity < line.quantity and date_inside(days, ctx.tol):
            by_product[receipt.product_id].append(at)
    best: tuple[tuple[Decimal, int, int, tuple[int, ...]], _Split] | None = None
    for product_id in sorted(by_product):
        for found in _split_sets(line, by_product[product_id], ctx):
            if best is None or found[0] < best[0]:
                best = found
    return best[1] if best else None


def _split_sets(
    line: InvoiceLine, pool: list[int], ctx: _Context
) -> Iterable[tuple[tuple[Decimal, int, int, tuple[int, ...]], _Split]]:
    receipts = ctx.index.receipts
    days = {at: abs((receipts[at].date - ctx.head.invoice_date).days) for at in pool}
    nearest = sorted(pool, key=lambda at: (days[at], receipts[at].inv_transaction_id))[:SPLIT_POOL]
    for size in range(2, min(SPLIT_MAX_PARTS, len(nearest)) + 1):
        for parts in itertools.combinations(nearest, size):
            total = sum((receipts[at].quantity for at in parts), Decimal(0))
            variance = line.quantity - total
            if qty_inside(variance, total, ctx.tol):
                ids = tuple(sorted(receipts[at].inv_transaction_id for at in parts))
                po_lines = len({receipts[at].order_item_id for at in parts})
                key = (abs(variance), po_lines, max(days[at] for at in parts), ids)
                yield key, _Split(frozenset(parts), total)


@dataclass(slots=True)
class _LineResult:
    line: InvoiceLine
    extra_charge: bool
    ranked: list[Scored]
    split: _Split | None


def _score_line(line: InvoiceLine, ctx: _Context) -> _LineResult:
    if is_extra_charge(line):
        return _LineResult(line, True, [], None)
    keys = _line_keys(line)
    related = sorted(ctx.index.related(keys))
    split = find_split(line, keys, related, ctx)
    scored = (score_pair(line, keys, at, ctx, split) for at in related)
    ranked = sorted((s for s in scored if s is not None), key=Scored.sort_key)
    return _LineResult(line, False, ranked, split)


def corroborate(results: Sequence[_LineResult], claimed: dict[int, int], receipts: Sequence[Receipt]) -> None:
    """Second pass: OrderCoherence for candidates on a PO that another goods line claimed from."""
    lines_on: dict[int, set[int]] = defaultdict(set)
    for at, line_index in claimed.items():
        lines_on[receipts[at].order_id].add(line_index)
    goods_lines = sum(not r.extra_charge for r in results)
    needed = min(CORROBORATING_LINES, goods_lines - 1)
    for result in results:
        for scored in result.ranked:
            scored.corroborated = len(lines_on[scored.receipt.order_id] - {result.line.index}) >= needed
            if scored.corroborated and needed:
                scored.reasons.append("OrderCoherence")
                scored.score = min(100, scored.score + WEIGHTS["OrderCoherence"])
        result.ranked.sort(key=Scored.sort_key)


def _group(result: _LineResult, scored: Scored) -> frozenset[int]:
    if scored.in_split and result.split is not None:
        return result.split.members
    return frozenset({scored.receipt_at})


def assign(results: Sequence[_LineResult]) -> dict[int, int]:
    """Receipt position -> line index: lines, best first, claim their best unclaimed group."""
    claimed: dict[int, int] = {}
    leaders = sorted((r for r in results if r.ranked), key=lambda r: (r.ranked[0].sort_key(), r.line.index))
    for result in leaders:
        for scored in result.ranked:
            group = _group(result, scored)
            if scored.score < CLAIM_FLOOR:
                break
            if not group & claimed.keys():
                claimed.update(dict.fromkeys(group, result.line.index))
                break
    return claimed


def _candidates(result: _LineResult, claimed: dict[int, int], tol: Tolerances) -> list[MatchCandidate]:
    index = result.line.index

    def taken(s: Scored) -> bool:
        return claimed.get(s.receipt_at, index) != index

    ranked = sorted(result.ranked, key=lambda s: (taken(s), s.sort_key()))
    if not ranked:
        return []
    leading = _group(result, ranked[0]) if not taken(ranked[0]) else frozenset()
    rivals = [s.score for s in ranked if s.receipt_at not in leading and not taken(s)]
    runner_up = max(rivals, default=-AMBIGUITY_MARGIN)
    return [_candidate(s, _block(s, leading, runner_up, taken(s)), tol) for s in ranked[:TOP_N]]


def _block(scored: Scored, leading: frozenset[int], runner_up: int, taken: bool) -> AutoBlock | None:
    if taken:
        return "ClaimedByOtherLine"
    if scored.receipt_at not in leading or scored.score - runner_up < AMBIGUITY_MARGIN:
        return "Ambiguous"
    return None if scored.corroborated else "OrderNotCorroborated"


def _candidate(scored: Scored, block: AutoBlock | None, tol: Tolerances) -> MatchCandidate:
    passes = scored.score >= tol.auto_eligible_score and scored.inside
    r = scored.receipt
    return MatchCandidate(
        order_id=r.order_id,
        order_item_id=r.order_item_id,
        inv_transaction_id=r.inv_transaction_id,
        order_name=r.order_name,
        product_number=r.product_number,
        vendor_product_number=r.vendor_sku,
        description=r.description,
        receipt_quantity=r.quantity,
        receipt_unit_price_sek=r.unit_price_sek,
        receipt_date=utc_midnight(r.date),
        score=scored.score,
        reasons=scored.reasons,
        qty_variance=scored.qty_variance,
        price_variance_sek=scored.price_variance_sek,
        date_variance_days=scored.date_variance_days,
        is_auto_eligible=passes and block is None,
        auto_block_reason=block if passes else None,
    )


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _suggestion(result: _LineResult, claimed: dict[int, int], tol: Tolerances) -> LineSuggestion:
    line = result.line
    return LineSuggestion(
        invoice_line_index=line.index,
        vendor_product_number=line.vendor_sku,
        product_number=line.product_number,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        total_ex_vat=line.total_ex_vat,
        is_extra_charge=result.extra_charge,
        candidates=_candidates(result, claimed, tol),
    )


# -- the draft as a whole ---------------------------------------------------------------------


def unmatched_receipts(index: ReceiptIndex, claimed: dict[int, int]) -> list[UnmatchedReceipt]:
    orders_in_play = {index.receipts[at].order_id for at in claimed}
    left = [r for at, r in enumerate(index.receipts) if r.order_id in orders_in_play and at not in claimed]
    return [_unmatched(r) for r in sorted(left, key=lambda r: (r.order_id, r.inv_transaction_id))]


def _unmatched(r: Receipt) -> UnmatchedReceipt:
    return UnmatchedReceipt(
        order_id=r.order_id,
        order_item_id=r.order_item_id,
        inv_transaction_id=r.inv_transaction_id,
        order_name=r.order_name,
        product_number=r.product_number,
        vendor_product_number=r.vendor_sku,
        description=r.description,
        receipt_quantity=r.quantity,
        receipt_unit_price_sek=r.unit_price_sek,
        receipt_date=utc_midnight(r.date),
    )


def whole_order_options(
    results: Sequence[_LineResult], index: ReceiptIndex, claimed: dict[int, int], head: DraftHead
) -> list[WholeOrderOption]:
    goods = {r.line.index: r.line.total_ex_vat * head.rate_to_sek for r in results if not r.extra_charge}
    goods_total = sum(goods.values(), Decimal(0))
    lines_on: dict[int, set[int]] = defaultdict(set)
    for at, line_index in claimed.items():
        lines_on[index.receipts[at].order_id].add(line_index)
    options = [
        _option(receipts, lines_on[order_id], goods, goods_total)
        for order_id, receipts in _receipts_per_order(index.receipts).items()
    ]
    options.sort(key=lambda o: (-o.coverage_percent, abs(goods_total - o.received_value_sek), o.order_id))
    return options[:WHOLE_ORDER_OPTIONS]


def _receipts_per_order(receipts: Iterable[Receipt]) -> dict[int, list[Receipt]]:
    per_order: dict[int, list[Receipt]] = defaultdict(list)
    for receipt in receipts:
        per_order[receipt.order_id].append(receipt)
    return per_order


def _option(
    receipts: list[Receipt], lines: set[int], goods: dict[int, Decimal], goods_total: Decimal
) -> WholeOrderOption:
    covered = sum((goods.get(i, Decimal(0)) for i in lines), Decimal(0))
    share = covered / goods_total * 100 if goods_total else Decimal(0)
    first = receipts[0]
    return WholeOrderOption(
        order_id=first.order_id,
        order_name=first.order_name,
        purchase_number=first.purchase_number,
        coverage_percent=share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        matched_line_count=len(lines),
        receipt_count=len(receipts),
        received_value_sek=money(sum((r.quantity * r.unit_price_sek for r in receipts), Decimal(0))),
    )


def suggest_matches(
    head: DraftHead, lines: Sequence[InvoiceLine], receipts: Sequence[Receipt], tol: Tolerances
) -> MatchResponse:
    index = ReceiptIndex(receipts)
    ctx = _Context(head, tol, index)
    results = [_score_line(line, ctx) for line in sorted(lines, key=lambda line: line.index)]
    corroborate(results, assign(results), receipts)
    claimed = assign(results)
    return MatchResponse(
        invoice_id=head.id,
        company_id=head.vendor_id,
        tolerances=tol,
        suggestions=[_suggestion(r, claimed, tol) for r in results],
        unmatched_receipts=unmatched_receipts(index, claimed),
        whole_order_options=whole_order_options(results, index, claimed, head),
    )


def distribute(
    head: DraftHead, lines: Sequence[InvoiceLine], receipts: Sequence[Receipt], tol: Tolerances
) -> dict[int, int]:
    """Receipt id -> line index for match-whole-order: best-fit line per receipt; a receipt that
    fits no line piles onto the first goods line. Empty when the draft has no goods line."""
    goods = sorted((line for line in lines if not is_extra_charge(line)), key=lambda line: line.index)
    if not goods:
        return {}
    ctx = _Context(head, tol, ReceiptIndex(receipts))
    keys = [_line_keys(line) for line in goods]
    placed: dict[int, int] = {}
    for at, receipt in enumerate(receipts):
        fits = (score_pair(line, k, at, ctx, None) for line, k in zip(goods, keys, strict=True))
        best = max(
            ((s.score, -line.index) for line, s in zip(goods, fits, strict=True) if s is not None),
            default=(0, -goods[0].index),
        )
        placed[receipt.inv_transaction_id] = -best[1]
    return placed
