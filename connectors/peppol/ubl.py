"""UBL 2.1 Invoice / CreditNote -> the business terms a purchase-invoice draft needs (EN 16931).

A pure mapping from the parsed document; no database. Amounts are exact decimals. Which terms:

==========================  ==============================================================
draft                       EN 16931 business term (UBL element)
==========================  ==============================================================
invoice number              BT-1 (cbc:ID)
invoice / due date          BT-2 (cbc:IssueDate), BT-9 (cbc:DueDate; credit note:
                            cac:PaymentMeans/cbc:PaymentDueDate)
currency                    BT-5 (cbc:DocumentCurrencyCode)
totals                      BT-109 tax-exclusive, BT-110 VAT in the document currency,
                            BT-112 tax-inclusive (cac:LegalMonetaryTotal, cac:TaxTotal)
PO hint                     BT-13 buyer's order reference (cac:OrderReference/cbc:ID)
supplier                    BT-27/28 names, BT-29 party id, BT-30 legal registration id,
                            BT-31 VAT id, BT-34 electronic address (cbc:EndpointID)
line                        BT-126 id, BT-129 quantity, BT-131 net amount, BT-153 name,
                            BT-155 seller's item id (vendor SKU), BT-156 buyer's item id
                            (our product number), BT-157 standard id (GTIN: scheme 0160, or 0088),
                            BT-146 net price per BT-149 base quantity
extra-charge line           BG-20 / BG-21 document-level allowance (negative) or charge
==========================  ==============================================================

Document-level allowances and charges become extra-charge lines, so the lines add up to the
tax-exclusive total (BR-CO-13: sum of line net amounts - allowances + charges). A credit note
becomes a credit draft as the ERP stores credits: positive quantities, negated prices and
amounts, so a credit nets against the invoice it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

from connectors.peppol.xml import DocumentRefused

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
GTIN_SCHEMES = {"0160", "0088"}  # GTIN; older documents give EAN codes as 0088
UNIT_PRICE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Supplier:
    name: str | None
    endpoint: tuple[str, str] | None  # (scheme, id)
    vat_id: str | None
    legal_id: str | None
    party_ids: tuple[str, ...]

    def described(self) -> str:
        """The identifiers the document carried, for a person who has to add the vendor."""
        parts = [f"legal id {self.legal_id}"] if self.legal_id else []
        parts += [f"VAT {self.vat_id}"] if self.vat_id else []
        parts += [f"endpoint {self.endpoint[0]}:{self.endpoint[1]}"] if self.endpoint else []
        parts += [f"party id {pid}" for pid in self.party_ids]
        return "; ".join(parts) or "no identifiers"


@dataclass(frozen=True)
class Line:
    index: int
    line_id: str
    seller_item_id: str | None
    buyer_item_id: str | None
    gtin: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal
    is_extra_charge: bool = False


@dataclass(frozen=True)
class EInvoice:
    document_type: str  # invoice | credit
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    total_ex_vat: Decimal
    total_vat: Decimal
    total_inc_vat: Decimal
    order_reference: str | None
    supplier: Supplier
    lines: tuple[Line, ...]


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path, NS)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _required(node: etree._Element, path: str, term: str) -> str:
    value = _text(node, path)
    if value is None:
        raise DocumentRefused(f"missing required business term {term} ({path})")
    return value


def _decimal(value: str, term: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise DocumentRefused(f"{term} is not an amount: {value[:40]!r}")
    return number


def _amount(node: etree._Element, path: str, term: str) -> Decimal:
    return _decimal(_required(node, path, term), term)


def _date(value: str | None, term: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise DocumentRefused(f"{term} is not a date (YYYY-MM-DD): {value[:40]!r}") from exc


def read_invoice(root: etree._Element, document_type: str) -> EInvoice:
    sign = Decimal(-1) if document_type == "credit" else Decimal(1)
    currency = _required(root, "cbc:DocumentCurrencyCode", "BT-5")
    totals = root.find("cac:LegalMonetaryTotal", NS)
    if totals is None:
        raise DocumentRefused("missing required business group BG-22 (cac:LegalMonetaryTotal)")
    goods = _lines(root, document_type, sign)
    charges = _allowances_and_charges(root, sign, start=len(goods))
    issue_date = _date(_required(root, "cbc:IssueDate", "BT-2"), "BT-2")
    assert issue_date is not None
    return EInvoice(
        document_type=document_type,
        number=_required(root, "cbc:ID", "BT-1"),
        issue_date=issue_date,
        due_date=_date(
            _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate"), "BT-9"
        ),
        currency=currency,
        total_ex_vat=sign * _amount(totals, "cbc:TaxExclusiveAmount", "BT-109"),
        total_vat=sign * _document_vat(root, currency),
        total_inc_vat=sign * _amount(totals, "cbc:TaxInclusiveAmount", "BT-112"),
        order_reference=_text(root, "cac:OrderReference/cbc:ID"),
        supplier=_supplier(root),
        lines=goods + charges,
    )


def _document_vat(root: etree._Element, currency: str) -> Decimal:
    for total in root.findall("cac:TaxTotal/cbc:TaxAmount", NS):
        if total.get("currencyID") in (None, currency) and total.text:
            return _decimal(total.text.strip(), "BT-110")
    return Decimal(0)


def _supplier(root: etree._Element) -> Supplier:
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    if party is None:
        raise DocumentRefused("missing required business group BG-4 (cac:AccountingSupplierParty)")
    endpoint = party.find("cbc:EndpointID", NS)
    vat = [
        _text(scheme, "cbc:CompanyID")
        for scheme in party.findall("cac:PartyTaxScheme", NS)
        if _text(scheme, "cac:TaxScheme/cbc:ID") == "VAT"
    ]
    return Supplier(
        name=_text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
        or _text(party, "cac:PartyName/cbc:Name"),
        endpoint=(endpoint.get("schemeID", ""), endpoint.text.strip())
        if endpoint is not None and endpoint.text and endpoint.text.strip()
        else None,
        vat_id=next((v for v in vat if v), None),
        legal_id=_text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        party_ids=tuple(
            t for node in party.findall("cac:PartyIdentification", NS) if (t := _text(node, "cbc:ID"))
        ),
    )


def _lines(root: etree._Element, document_type: str, sign: Decimal) -> tuple[Line, ...]:
    tag, qty_tag = (
        ("cac:CreditNoteLine", "cbc:CreditedQuantity")
        if document_type == "credit"
        else ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    )
    nodes = root.findall(tag, NS)
    if not nodes:
        raise DocumentRefused(f"missing required business group BG-25 (no {tag})")
    return tuple(_line(node, index, qty_tag, sign) for index, node in enumerate(nodes))


def _line(node: etree._Element, index: int, qty_tag: str, sign: Decimal) -> Line:
    line_id = _required(node, "cbc:ID", "BT-126")
    quantity = _amount(node, qty_tag, f"BT-129 of line {line_id}")
    base = _text(node, "cac:Price/cbc:BaseQuantity")
    base_quantity = _decimal(base, f"BT-149 of line {line_id}") if base else Decimal(1)
    if base_quantity == 0:
        raise DocumentRefused(f"BT-149 of line {line_id} is zero")
    price = _amount(node, "cac:Price/cbc:PriceAmount", f"BT-146 of line {line_id}") / base_quantity
    gtin = node.find("cac:Item/cac:StandardItemIdentification/cbc:ID", NS)
    return Line(
        index=index,
        line_id=line_id,
        seller_item_id=_text(node, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
        buyer_item_id=_text(node, "cac:Item/cac:BuyersItemIdentification/cbc:ID"),
        gtin=(gtin.text or "").strip() or None
        if gtin is not None and gtin.get("schemeID") in GTIN_SCHEMES
        else None,
        description=_text(node, "cac:Item/cbc:Name")
        or _required(node, "cac:Item/cbc:Description", f"BT-153 of line {line_id}"),
        quantity=quantity,
        unit_price=sign * price.quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP),
        total=sign * _amount(node, "cbc:LineExtensionAmount", f"BT-131 of line {line_id}"),
    )


def _allowances_and_charges(root: etree._Element, sign: Decimal, *, start: int) -> tuple[Line, ...]:
    lines = []
    for offset, node in enumerate(root.findall("cac:AllowanceCharge", NS)):
        is_charge = _required(node, "cbc:ChargeIndicator", "BG-20/BG-21 charge indicator") in ("true", "1")
        amount = _amount(node, "cbc:Amount", "BT-92/BT-99") * (1 if is_charge else -1) * sign
        reason = _text(node, "cbc:AllowanceChargeReason") or _text(node, "cbc:AllowanceChargeReasonCode")
        lines.append(
            Line(
                index=start + offset,
                line_id=f"{'charge' if is_charge else 'allowance'}-{offset + 1}",
                seller_item_id=None,
                buyer_item_id=None,
                gtin=None,
                description=reason or ("Charge" if is_charge else "Allowance"),
                quantity=Decimal(1),
                unit_price=amount,
                total=amount,
                is_extra_charge=True,
            )
        )
    return tuple(lines)
