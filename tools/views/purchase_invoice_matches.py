"""3-way matching of a supplier-invoice draft: suggestions (both doors), and the two REST-only
writes that confirm pairs. Nothing here books anything."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from pydantic import Field

from tools.matching.models import (
    MAX_CONFIRM_PAIRS,
    ConfirmPair,
    ConfirmRequest,
    ConfirmResponse,
    MatchResponse,
    Tolerances,
    WholeOrderResponse,
)
from tools.matching.service import SuggestCache, confirm, match_whole_order, suggest, suggest_many
from tools.view import View, ViewContext, register
from tools.wire import Params


class SuggestParams(Params):
    invoice_id: int = Field(description="The purchase-invoice draft's id (see list_purchase_invoice_drafts)")


class ConfirmParams(Params):
    invoice_id: int = Field(description="The purchase-invoice draft's id")
    matches: list[ConfirmPair] = Field(
        min_length=1,
        max_length=MAX_CONFIRM_PAIRS,
        description=f"Pairs to save (at most {MAX_CONFIRM_PAIRS}); repeat invoiceLineIndex to attach "
        "several receipts",
    )


class WholeOrderParams(Params):
    invoice_id: int = Field(description="The purchase-invoice draft's id")
    order_id: int = Field(description="A purchase order of the draft's vendor (see wholeOrderOptions)")


def tolerances(ctx: ViewContext) -> Tolerances:
    return Tolerances.model_validate(ctx.options.get("matching", {}))


def suggest_cache(ctx: ViewContext) -> SuggestCache:
    cache = ctx.state.setdefault("suggest_cache", SuggestCache())
    assert isinstance(cache, SuggestCache)
    return cache


def suggest_matches(conn: sa.Connection, ctx: ViewContext, params: SuggestParams) -> MatchResponse:
    cache = suggest_cache(ctx)
    if (cached := cache.get(ctx.tenant, params.invoice_id)) is not None:
        return cached
    started_at = cache.clock()
    response = suggest(conn, params.invoice_id, tolerances(ctx))
    cache.put(ctx.tenant, params.invoice_id, response, started_at=started_at)
    return response


def suggest_matches_of(
    conn: sa.Connection, ctx: ViewContext, draft_ids: Sequence[int]
) -> dict[int, MatchResponse]:
    """``suggest_matches`` of several drafts: those not in the cache computed together (three
    queries in all) and cached like one suggest. Unknown ids are left out."""
    cache = suggest_cache(ctx)
    found: dict[int, MatchResponse] = {}
    missing = []
    for draft_id in draft_ids:
        if (cached := cache.get(ctx.tenant, draft_id)) is not None:
            found[draft_id] = cached
        else:
            missing.append(draft_id)
    if missing:
        started_at = cache.clock()
        for draft_id, response in suggest_many(conn, missing, tolerances(ctx)).items():
            cache.put(ctx.tenant, draft_id, response, started_at=started_at)
            found[draft_id] = response
    return found


def forget_suggestions_after_commit(ctx: ViewContext) -> None:
    """Once the pairs are committed, no cached suggestion of the tenant may offer the claimed
    receipts: other drafts of the vendor were offered them too. Forgetting before the commit
    would let a suggest running meanwhile cache the old state again."""
    ctx.after_commit.append(lambda: suggest_cache(ctx).invalidate_tenant(ctx.tenant))


def confirm_matches(conn: sa.Connection, ctx: ViewContext, params: ConfirmParams) -> ConfirmResponse:
    response = confirm(conn, params.invoice_id, ConfirmRequest(matches=params.matches))
    forget_suggestions_after_commit(ctx)
    return response


def confirm_whole_order(
    conn: sa.Connection, ctx: ViewContext, params: WholeOrderParams
) -> WholeOrderResponse:
    response = match_whole_order(conn, params.invoice_id, params.order_id, tolerances(ctx))
    forget_suggestions_after_commit(ctx)
    return response


register(
    View(
        name="purchase-invoice-matches",
        tool="suggest_invoice_matches",
        method="GET",
        path="/purchase-invoice-matches/{invoiceId}",
        path_params=("invoiceId",),
        params=SuggestParams,
        result=MatchResponse,
        query=suggest_matches,
        title="Suggest goods receipts for a supplier-invoice draft (3-way matching)",
        description=(
            "For every line of a supplier-invoice draft, the top 5 goods receipts (on the vendor's "
            "purchase orders, not yet booked or claimed) it most likely pays for, each with a "
            "0-100 `score`, the `reasons` (signals) behind it, `qtyVariance`, `priceVarianceSek` "
            "(after converting the invoice price to SEK) and `dateVarianceDays`, and "
            "`isAutoEligible` (score at least `tolerances.autoEligibleScore` and every variance "
            "inside its tolerance) and the stricter `isAutoRecommended` (also clearly ahead of the "
            "runner-up and not claimed by another line; `autoBlockReason` says why not). "
            "Candidates are ranked by score; a receipt another line claims is marked with "
            "`claimedByLineIndex`. Freight and fee lines get no candidates. Also "
            "`unmatchedReceipts` and `wholeOrderOptions` (POs that could cover the whole draft). "
            "Read-only: nothing is saved; a person confirms matches in the ERP. Find drafts with "
            "list_purchase_invoice_drafts. Cached for 30 seconds per draft."
        ),
    )
)

register(
    View(
        name="purchase-invoice-matches-confirm",
        tool="confirm_invoice_matches",
        method="POST",
        path="/purchase-invoice-matches/{invoiceId}/confirm",
        path_params=("invoiceId",),
        params=ConfirmParams,
        result=ConfirmResponse,
        query=confirm_matches,
        title="Confirm invoice line to goods receipt pairs (REST only)",
        description=(
            "Saves confirmed (invoice line -> receipt) pairs on the draft in one transaction. "
            "Idempotent: pairs already saved are left as they are. Every pair is checked (line "
            "exists, receipt of the draft's vendor, not booked, not claimed elsewhere); one bad "
            "pair is a 400 and nothing is written. Never books the voucher."
        ),
        writes=True,
    )
)

register(
    View(
        name="purchase-invoice-matches-whole-order",
        tool="match_whole_order",
        method="POST",
        path="/purchase-invoice-matches/{invoiceId}/match-whole-order",
        path_params=("invoiceId",),
        params=WholeOrderParams,
        result=WholeOrderResponse,
        query=confirm_whole_order,
        title="Attach every open receipt of one purchase order to the draft (REST only)",
        description=(
            "Attaches every unbooked, unclaimed receipt of the chosen purchase order to the draft, "
            "each on its best-fitting invoice line (leftovers on the first goods line), in one "
            "transaction, and answers the pairs it attached (`attached`: empty when another request "
            "took them first or nothing was open). Idempotent. Never books the voucher."
        ),
        writes=True,
    )
)
