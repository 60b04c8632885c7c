"""Wire shapes of the purchase-invoice matching endpoints (``PurchaseInvoiceMatch*Dto`` in the
OpenAPI document).

Money and quantities are ``Decimal``; unit prices keep their four decimals; datetimes are UTC.
Unknown fields are ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, WithJsonSchema

from tools.wire import InputModel, Money, Quantity, UtcDateTime
from tools.wire import WireModel as _Wire

AutoBlock = Literal["Ambiguous", "ClaimedByOtherLine", "OrderNotCorroborated"]

# An exact number that keeps its decimals (unit prices have four, tolerances are fractions).
Number = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]


class Tolerances(_Wire):
    qty_percent: Number = Field(Decimal("0.02"), ge=0, description="Qty variance allowed, share of received")
    qty_absolute: Number = Field(Decimal("1"), ge=0, description="Qty variance allowed, units")
    price_percent: Number = Field(Decimal("0.01"), ge=0, description="Unit-price variance, share of receipt")
    price_absolute_sek: Number = Field(Decimal("5"), ge=0, description="Unit-price variance allowed, SEK")
    date_window_days: int = Field(14, ge=0, description="Receipt date at most this many days from invoice")
    auto_eligible_score: int = Field(70, ge=0, le=100, description="Lowest score that can be auto-eligible")


class MatchCandidate(_Wire):
    order_id: int
    order_item_id: int
    inv_transaction_id: int
    order_name: str | None
    product_number: str | None
    vendor_product_number: str | None
    description: str | None
    receipt_quantity: Quantity
    receipt_unit_price_sek: Number
    receipt_date: UtcDateTime
    score: int = Field(ge=0, le=100)
    reasons: list[str]
    qty_variance: Quantity = Field(
        description="Invoice qty minus received qty (the split set's sum for a part)"
    )
    price_variance_sek: Money = Field(description="Invoice unit price in SEK minus receipt unit price")
    date_variance_days: int = Field(description="Receipt date minus invoice date, in days")
    is_auto_eligible: bool
    auto_block_reason: AutoBlock | None = Field(
        None, description="Why a candidate that passes score and tolerances is still not auto-eligible"
    )


class LineSuggestion(_Wire):
    invoice_line_index: int
    vendor_product_number: str | None
    product_number: str | None
    description: str
    quantity: Quantity
    unit_price: Number
    total_ex_vat: Money
    is_extra_charge: bool
    candidates: list[MatchCandidate]


class UnmatchedReceipt(_Wire):
    order_id: int
    order_item_id: int
    inv_transaction_id: int
    order_name: str | None
    product_number: str | None
    vendor_product_number: str | None
    description: str | None
    receipt_quantity: Quantity
    receipt_unit_price_sek: Number
    receipt_date: UtcDateTime


class WholeOrderOption(_Wire):
    order_id: int
    order_name: str | None
    purchase_number: int | None
    coverage_percent: Number = Field(description="Share of the draft's goods value whose best match is on it")
    matched_line_count: int = Field(description="Goods lines of the draft whose best match is on this order")
    receipt_count: int = Field(description="Open (unbooked, unclaimed) receipts on this order")
    received_value_sek: Money = Field(description="Value of those open receipts, SEK")


class MatchResponse(_Wire):
    invoice_id: int
    company_id: int = Field(description="The draft's vendor")
    tolerances: Tolerances
    suggestions: list[LineSuggestion]
    unmatched_receipts: list[UnmatchedReceipt]
    whole_order_options: list[WholeOrderOption]


class ConfirmPair(InputModel):
    invoice_line_index: int = Field(ge=0)
    order_item_id: int
    inv_transaction_id: int


class ConfirmRequest(InputModel):
    matches: list[ConfirmPair] = Field(min_length=1)


class ConfirmResponse(_Wire):
    invoice_id: int
