"""Which views a tenant's source fills: what a source does not have is said, not hidden.

A tenant without a ``[sources.<tenant>]`` entry (the demo, an ERP database read directly) has
every view. A source-backed tenant lacks the views listed here for its ``kind``, each with the
reason an assistant can pass on; asking one of them is ``NotInSource`` (404, code
``not_in_source``), never an empty list that reads as "there are none".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.errors import NotInSource

SOURCE_LABELS = {"fortnox": "Fortnox", "wisedat": "Wisedat", "asperion": "Asperion"}

_NO_PURCHASE_SIDE = "purchase orders, goods received or supplier invoices"
LACKING: Mapping[str, Mapping[str, str]] = {
    "wisedat": {
        "purchase-orders": _NO_PURCHASE_SIDE,
        "vendor-prices": "supplier prices",
        "payables": _NO_PURCHASE_SIDE,
        "payables-aging": _NO_PURCHASE_SIDE,
        "open-order-lines": (
            "delivered quantities: its order items carry none and no state of their own (only "
            "the whole order is open or closed), and its movements of goods name no order"
        ),
    },
    "asperion": {
        "purchase-orders": "purchase orders (only purchase invoices)",
        "vendor-prices": "supplier prices",
        "warehouse-stock": "warehouses or stock",
        "open-order-lines": (
            "delivered quantities: its sales orders take their goods out of stock when they are "
            "made and record no delivery per line"
        ),
    },
}


# Arguments of a view a source cannot answer: (view, parameter, value) -> what the source lacks.
LACKING_ARGUMENTS: Mapping[str, Mapping[tuple[str, str, str], str]] = {
    "wisedat": {("summary", "measure", "purchases"): _NO_PURCHASE_SIDE},
    "asperion": {
        ("summary", "measure", "purchases"): "purchase orders (only purchase invoices)",
        ("summary", "measure", "orderIntake"): (
            "which sales invoice bills which sales order (order intake would count an invoiced order twice)"
        ),
    },
}


def source_kind(options: Mapping[str, Any]) -> str | None:
    kind = options.get("source")
    return None if kind is None else str(kind)


def source_label(kind: str) -> str:
    return SOURCE_LABELS.get(kind, kind)


def missing_reason(options: Mapping[str, Any], view: str) -> str | None:
    """Why the tenant's source cannot fill ``view``; None when it can."""
    kind = source_kind(options)
    return None if kind is None else LACKING.get(kind, {}).get(view)


def lacking_arguments(options: Mapping[str, Any], view: str) -> str | None:
    """Arguments of ``view`` the tenant's source cannot answer, as one sentence; None if none."""
    kind = source_kind(options)
    notes = [
        f"{field}={value}: no {lacking}"
        for (name, field, value), lacking in LACKING_ARGUMENTS.get(kind or "", {}).items()
        if name == view
    ]
    return "; ".join(notes) or None


def require_filled(options: Mapping[str, Any], view: str, tool: str, params: Any = None) -> None:
    """Refuse a view (or an argument of it) the tenant's source does not fill, naming the
    source and what it lacks."""
    reason = missing_reason(options, view)
    kind = source_kind(options)
    if reason is None and kind is not None and params is not None:
        for (name, field, value), lacking in LACKING_ARGUMENTS.get(kind, {}).items():
            if name == view and str(getattr(params, field, None)) == value:
                reason = lacking
    if reason is not None:
        label = source_label(source_kind(options) or "")
        raise NotInSource(
            f"{tool} cannot be answered for this tenant: its books are kept in {label}, which does "
            f"not provide {reason}. This is not an empty result; the data is not available here."
        )
