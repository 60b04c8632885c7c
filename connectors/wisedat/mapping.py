"""Pure mappings from Wisedat's JSON objects to our rows (no I/O; ids are given).

Every field read here is in Wisedat's API description (each function names the resource and the
fields); where the description leaves something open, the function says what was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.core.values import dec, money
from tools.reference import STATUSES, Status

Json = dict[str, Any]
Row = dict[str, Any]
INVOICE_SENT, INVOICE_CANCELLED = 21, 23  # the reference statuses (tools.reference.STATUSES)
ORDER_CONFIRMED, ORDER_CANCELLED = 12, 14
# A closed Wisedat order was turned into its sales invoice (or closed by hand): the invoice carries
# the order intake, so the closed order must not count twice. Our reference statuses lack it.
ORDER_CLOSED = Status(15, 1, "Fechada")
WISEDAT_STATUSES: tuple[Status, ...] = (*STATUSES, ORDER_CLOSED)
CHARGED_ITEM_TYPES = (1, 2)  # 1 merchandise/service, 2 postage; 3-6 adjust, discount, notes


@dataclass(frozen=True)
class Refs:
    companies: Mapping[str, int] = field(default_factory=dict)
    products: Mapping[str, int] = field(default_factory=dict)
    currencies: Mapping[str, int] = field(default_factory=dict)
    documents: Mapping[str, int] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)


def day(value: Any) -> datetime:
    """A Wisedat date (``YYYY-MM-DD`` or ISO 8601 in UTC) as our naive UTC datetime."""
    text = str(value)[:10]
    return datetime.fromisoformat(text)


def party_company(party: Json, company_id: int, *, vendor: bool) -> Row:
    """A customer or supplier: ``GET /customers`` and ``GET /suppliers`` list ``id`` (int),
    ``code``, ``name``, ``tax_id`` and ``active``; a document's ``customer`` carries the same."""
    code = str(party.get("code") or "")
    return {
        "Id": company_id,
        "ContactNumber": int(code) if code.isdigit() and len(code) < 10 else company_id,
        "Name": str(party.get("name") or code or party["id"])[:200],
        "Orgno": (party.get("tax_id") or None),
        "IsCustomer": not vendor,
        "IsVendor": vendor,
        "Inactive": not party.get("active", True),
        "CreditLimit": None,
        "CreditStop": False,
    }


def product_row(product: Json, product_id: int) -> Row:
    """``GET /products``: ``id``, ``name`` (the product's unique name: its reference),
    ``description``, ``barcode``, ``price``, ``active``."""
    return {
        "Id": product_id,
        "ProductNumber": str(product.get("name") or product["id"])[:40],
        "Description": str(product.get("description") or product.get("name") or "")[:200],
        "Barcode": product.get("barcode") or None,
        "IsActive": bool(product.get("active", True)),
        "DefaultPrice": money(product.get("price")),
    }


def currency_row(currency: Json, currency_id: int, rate_to_home: Decimal) -> Row:
    """``GET /company`` ``currency`` and a document's ``currency``: ``id`` (the ISO code),
    ``description``. ``RateToSek`` holds the rate into the company's own currency (1 for it): every view
    converts by ratios of this column, so the tenant's home currency is the company currency."""
    return {
        "Id": currency_id,
        "IsoCode": str(currency["id"])[:3],
        "Name": str(currency.get("description") or currency["id"])[:60],
        "RateToSek": rate_to_home,
    }


def invoice_document(invoice: Json, invoice_id: int, refs: Refs) -> Row:
    """``GET /salesinvoices?id=``: ``document_number``, ``customer.id``, ``currency.id``, ``date``,
    ``expiration_date`` (the due date), ``canceled``, ``subtotal`` (merchandise plus postage less
    discounts), ``taxes``, ``total`` (subtotal plus taxes less adjustment), ``your_reference``."""
    when = day(invoice["date"])
    return {
        "Id": invoice_id,
        "OrderStatusId": INVOICE_CANCELLED if invoice.get("canceled") else INVOICE_SENT,
        "CompanyId": refs.companies[str(invoice["customer"]["id"])],
        "Name": (invoice.get("your_reference") or None),
        "PurchaseNumber": None,
        "InvoiceNumber": int(invoice["document_number"]),
        "DateOrder": when,
        "DateDelivery": when,
        "DateInvoice": when,
        "DateDue": day(invoice.get("expiration_date") or invoice["date"]),
        "CurrencyId": refs.currencies[str(invoice["currency"]["id"])],
        "TotalExVat": money(invoice.get("subtotal")),
        "TotalVat": money(invoice.get("taxes")),
        "TotalIncVat": money(invoice.get("total")),
        "CreditOfOrderId": None,
    }


def line_key(invoice: Json, index: int) -> str:
    return f"{invoice['id']}/{index}"


def charged_items(invoice: Json) -> list[tuple[int, Json]]:
    """The ``items`` of ``type`` 1 (merchandise/service) and 2 (postage): 3 adjustment, 4 and 5
    discounts (already in ``subtotal``) and 6 notes are not lines of ours."""
    return [
        (i, item)
        for i, item in enumerate(invoice.get("items") or [])
        if item.get("type") in CHARGED_ITEM_TYPES
    ]


def invoice_lines(invoice: Json, invoice_id: int, refs: Refs) -> list[Row]:
    """Items: ``product.id``, ``product.name``, ``tax.value`` (a percentage), ``price``,
    ``quantity``, ``discount`` (0 to 100, a percentage), ``description``."""
    rows = []
    for line_no, (index, item) in enumerate(charged_items(invoice), start=1):
        qty, price = dec(item.get("quantity")), dec(item.get("price"))
        discount = dec(item.get("discount"))
        vat = dec((item.get("tax") or {}).get("value")) / 100
        ex_vat = money(qty * price * (1 - discount / 100))
        product = item.get("product") or {}
        rows.append(
            {
                "Id": refs.lines[line_key(invoice, index)],
                "OrderId": invoice_id,
                "LineNo": line_no,
                "ProductId": refs.products.get(str(product.get("id"))) if product else None,
                "Description": str(item.get("description") or product.get("name") or "")[:200],
                "VendorProductNumber": None,
                "QtyOrdered": qty,
                "QtyDelivered": qty,  # an invoice bills what was delivered
                "Price": money(price),
                "Discount": discount,
                "VatRate": vat,
                "SumExVat": ex_vat,
                "SumIncVat": money(ex_vat * (1 + vat)),
            }
        )
    return rows


def order_status(order: Json) -> int:
    """``GET /orders``: ``canceled`` and ``closed`` (the list filters by ``closed``: "closed or
    open orders"); the description has no other state of an order or its items."""
    if order.get("canceled"):
        return ORDER_CANCELLED
    return ORDER_CLOSED.id if order.get("closed") else ORDER_CONFIRMED


def order_document(order: Json, order_id: int, refs: Refs) -> Row:
    """An order is an invoice-shaped document with no invoice yet; its delivery date is the
    order's ``expiration_date`` (Wisedat has no other delivery date)."""
    return invoice_document(order, order_id, refs) | {
        "OrderStatusId": order_status(order),
        "InvoiceNumber": None,
        "DateDelivery": day(order.get("expiration_date") or order["date"]),
        "DateInvoice": None,
        "DateDue": None,
    }


def order_lines(order: Json, order_id: int, refs: Refs) -> list[Row]:
    """The charged items. Wisedat's order items carry no delivered quantity and no state (only
    the order is ``closed`` or not), and its movements of goods (``/movementsofgoods``) name no
    order they deliver: an open order's line counts as nothing delivered, a closed one's as all
    of it, and the open-order-lines view answers ``not_in_source`` (tools/capabilities.py)."""
    closed = bool(order.get("closed")) and not order.get("canceled")
    return [
        line | {"QtyDelivered": line["QtyOrdered"] if closed else Decimal(0)}
        for line in invoice_lines(order, order_id, refs)
    ]


def payment_key(payment: Json, document: Json) -> str:
    return f"{payment['id']}/{document['id']}"


def payment_rows(payment: Json, ids: Mapping[str, int], invoices: Mapping[str, int]) -> list[Row]:
    """``GET /payments?id=``: ``date``, ``canceled`` and ``associated_documents`` (only in the
    detail) with the settled document's ``id`` and ``received_value``: one Payment row each."""
    return [
        {
            "Id": ids[payment_key(payment, document)],
            "OrderId": invoices[str(document["id"])],
            "Amount": money(document.get("received_value")),
            "DatePaid": day(payment["date"]),
        }
        for document in payment.get("associated_documents") or []
        if str(document["id"]) in invoices
    ]


def warehouse_row(warehouse: Json, warehouse_id: int) -> Row:
    """``GET /warehouses`` (an unpaged array): ``id``, ``code``, ``description``."""
    return {
        "Id": warehouse_id,
        "Name": str(warehouse.get("description") or warehouse.get("code") or warehouse["id"])[:80],
    }


def location_row(location: str, location_id: int, warehouse_id: int) -> Row:
    return {"Id": location_id, "WarehouseId": warehouse_id, "Name": location[:40]}


def stock_places(products: list[Json] | Any) -> list[tuple[str, str, str]]:
    """(product, warehouse, location) of every stock entry, once each (lots are added up)."""
    seen = {
        (str(p["id"]), str(e["id_warehouse"]), str(e.get("id_location") or 0))
        for p in products
        for e in p.get("stocks") or []
    }
    return sorted(seen)


def stock_rows(
    products: list[Json] | Any, refs: Refs, warehouses: Mapping[str, int], locations: Mapping[str, int]
) -> list[Row]:
    """``GET /products`` ``stocks``: ``id_warehouse``, ``id_location``, ``id_lot``,
    ``current_stock``, ``reserved_stock``. One row per product and place: the lots' stock added
    up; reserved stock is outgoing."""
    totals: dict[tuple[str, str, str], list[Decimal]] = {}
    for p in products:
        for e in p.get("stocks") or []:
            key = (str(p["id"]), str(e["id_warehouse"]), str(e.get("id_location") or 0))
            sums = totals.setdefault(key, [Decimal(0), Decimal(0)])
            sums[0] += dec(e.get("current_stock"))
            sums[1] += dec(e.get("reserved_stock"))
    return [
        {
            "Id": refs.lines[f"{product}/{wh}/{loc}"],
            "ProductId": refs.products[product],
            "WarehouseLocationId": locations[f"{wh}/{loc}"],
            "WarehouseId": warehouses[wh],
            "QtyInStock": in_stock,
            "QtyIncoming": Decimal(0),  # Wisedat has no purchase side
            "QtyOutgoing": reserved,
        }
        for (product, wh, loc), (in_stock, reserved) in sorted(totals.items())
    ]
