"""The ERP's fixed reference rows: status types, statuses with their reporting flags, currencies.

Every tenant database carries exactly these rows; the demo generator writes them and the
views select by flag (never by hard-coded id), so a real ERP with other ids works the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SALESORDER = "SALESORDER"
SALESINVOICE = "SALESINVOICE"
SALESCREDIT = "SALESCREDIT"
PURCHASEORDER = "PURCHASEORDER"

STATUS_TYPES: dict[int, tuple[str, str]] = {
    1: (SALESORDER, "Kundorder"),
    2: (SALESINVOICE, "Kundfaktura"),
    3: (SALESCREDIT, "Kreditfaktura"),
    4: (PURCHASEORDER, "Inköpsorder"),
}


@dataclass(frozen=True)
class Status:
    id: int
    type_id: int
    name: str
    is_order_intake: bool = False
    is_sales: bool = False
    is_purchase: bool = False


STATUSES: tuple[Status, ...] = (
    Status(10, 1, "Offert"),
    Status(11, 1, "Preliminär"),
    Status(12, 1, "Bekräftad", is_order_intake=True),
    Status(13, 1, "Dellevererad", is_order_intake=True),
    Status(14, 1, "Makulerad"),
    Status(20, 2, "Förhandsgranskning", is_order_intake=True),
    Status(21, 2, "Skickad", is_order_intake=True, is_sales=True),
    Status(22, 2, "Påminnelse skickad", is_order_intake=True, is_sales=True),
    Status(23, 2, "Makulerad"),
    Status(30, 3, "Kreditutkast"),
    Status(31, 3, "Krediterad", is_sales=True),
    Status(32, 3, "Makulerad"),
    Status(40, 4, "Preliminär"),
    Status(41, 4, "Beställd", is_purchase=True),
    Status(42, 4, "Dellevererad", is_purchase=True),
    Status(43, 4, "Avslutad"),
    Status(44, 4, "Makulerad"),
)


@dataclass(frozen=True)
class Currency:
    id: int
    iso_code: str
    name: str
    rate_to_sek: Decimal


CURRENCIES: tuple[Currency, ...] = (
    Currency(1, "SEK", "Svensk krona", Decimal("1")),
    Currency(2, "EUR", "Euro", Decimal("11.45")),
    Currency(3, "USD", "US-dollar", Decimal("10.60")),
    Currency(4, "NOK", "Norsk krona", Decimal("0.98")),
    Currency(5, "DKK", "Dansk krona", Decimal("1.535")),
    Currency(6, "GBP", "Brittiskt pund", Decimal("13.30")),
)

PAYMENT_TERMS: dict[int, tuple[str, int]] = {
    1: ("10 dagar netto", 10),
    2: ("20 dagar netto", 20),
    3: ("30 dagar netto", 30),
    4: ("60 dagar netto", 60),
    5: ("Förskott", 0),
}
DELIVERY_TERMS: dict[int, str] = {1: "Fritt vårt lager", 2: "Fritt kund", 3: "Ex works", 4: "DAP"}
PRICE_LISTS: dict[int, str] = {1: "Standard", 2: "Återförsäljare", 3: "Storkund", 7: "Export"}
VAT_TYPES: dict[int, tuple[str, Decimal]] = {
    1: ("Moms 25 %", Decimal("0.25")),
    2: ("Moms 12 %", Decimal("0.12")),
    3: ("Omvänd skattskyldighet", Decimal("0")),
    4: ("Export, momsfri", Decimal("0")),
}
