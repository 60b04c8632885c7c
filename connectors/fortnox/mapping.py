"""Pure functions from Fortnox JSON to rows of our schema: no I/O, no database.

Ids are resolved by the caller (``Refs``) and passed in; every function here is a plain
transformation that a test can run on a document. Conventions of our schema that Fortnox does
not share: credit notes carry positive quantities and negative prices and sums (Fortnox: the
reverse sign on quantities); money is rounded to the cent; Fortnox's numbers typed as strings
(``"DeliveredQuantity": "2"``) are read as decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.core.values import dec, money
from tools.reference import STATUSES, Status
from tools.wire import CENT

Json = Mapping[str, Any]
Row = dict[str, Any]
INT32_MAX = 2**31 - 1

# Fortnox states that our reference statuses lack: an order that became an invoice (its
# invoice carries the order intake, so the order must not count twice).
ORDER_INVOICED = Status(15, 1, "Fakturerad")
FORTNOX_STATUSES: tuple[Status, ...] = (*STATUSES, ORDER_INVOICED)

ORDER_QUOTE, ORDER_CONFIRMED, ORDER_PART_DELIVERED, ORDER_CANCELLED = 10, 12, 13, 14
INVOICE_DRAFT, INVOICE_SENT, INVOICE_REMINDED, INVOICE_CANCELLED = 20, 21, 22, 23
CREDIT_DRAFT, CREDIT_SENT, CREDIT_CANCELLED = 30, 31, 32
PO_PRELIMINARY, PO_ORDERED, PO_PART_RECEIVED, PO_CLOSED, PO_CANCELLED = 40, 41, 42, 43, 44


@dataclass(frozen=True)
class Refs:
    """Our ids of what a document names, resolved by the stream before mapping."""

    companies: Mapping[str, int] = field(default_factory=dict)  # customer or supplier number
    products: Mapping[str, int] = field(default_factory=dict)  # article number
    currencies: Mapping[str, int] = field(default_factory=dict)  # ISO code
    lines: Mapping[str, int] = field(default_factory=dict)  # line key (see line_key)
    documents: Mapping[str, int] = field(default_factory=dict)  # document number / id
    locations: Mapping[str, int] = field(default_factory=dict)  # stock location id
    warehouses: Mapping[str, int] = field(default_factory=dict)  # stock point id or code


def day(value: Any) -> datetime | None:
    return datetime.combine(date.fromisoformat(value), datetime.min.time()) if value else None


def small_int(value: Any) -> int | None:
    """A Fortnox number that fits our 32-bit integer columns, else None."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) <= INT32_MAX else None


def line_key(document: str, row: Any) -> str:
    return f"{document}/{row}"


# -- parties and things --------------------------------------------------------------------


def customer_company(customer: Json, company_id: int, refs: Refs) -> Row:
    return _company(customer, customer["CustomerNumber"], company_id, refs) | {
        "IsCustomer": True,
        "IsVendor": False,
    }


def supplier_company(supplier: Json, company_id: int, refs: Refs) -> Row:
    return _company(supplier, supplier["SupplierNumber"], company_id, refs) | {
        "IsCustomer": False,
        "IsVendor": True,
    }


def _company(party: Json, number: str, company_id: int, refs: Refs) -> Row:
    return {
        "Id": company_id,
        "ContactNumber": small_int(number) or company_id,
        "Name": party.get("Name") or number,
        "Orgno": party.get("OrganisationNumber") or None,
        "Inactive": not party.get("Active", True),
        "CreditLimit": None,
        "CreditStop": False,
        "CurrencyId": refs.currencies.get(party.get("Currency") or ""),
    }


def placeholder_company(number: str, name: str | None, company_id: int, *, vendor: bool) -> Row:
    """A party a document names before its own stream has brought it (filled in later)."""
    return {
        "Id": company_id,
        "ContactNumber": small_int(number) or company_id,
        "Name": name or number,
        "IsCustomer": not vendor,
        "IsVendor": vendor,
        "Inactive": False,
        "CreditStop": False,
    }


def article_product(article: Json, product_id: int) -> Row:
    return {
        "Id": product_id,
        "ProductNumber": article["ArticleNumber"],
        "Description": article.get("Description") or article["ArticleNumber"],
        "Barcode": article.get("EAN") or None,
        "IsActive": bool(article.get("Active", True)) and not article.get("Expired", False),
        "DefaultPrice": money(article.get("SalesPrice")),
    }


def placeholder_product(number: str, description: str | None, product_id: int) -> Row:
    return {
        "Id": product_id,
        "ProductNumber": number,
        "Description": description or number,
        "IsActive": True,
        "DefaultPrice": Decimal(0),
    }


def article_vendor_price(article: Json, price_id: int, refs: Refs) -> Row | None:
    """The article's purchase price from its supplier (SEK), when it names one."""
    supplier = refs.companies.get(article.get("SupplierNumber") or "")
    if supplier is None or article.get("PurchasePrice") in (None, ""):
        return None
    return {
        "Id": price_id,
        "ProductId": refs.products[article["ArticleNumber"]],
        "SupplierId": supplier,
        "SupplierProductNumber": article.get("ManufacturerArticleNumber") or None,
        "Price": money(article["PurchasePrice"]),
        "CurrencyId": refs.currencies["SEK"],
    }


def currency_row(currency: Json, currency_id: int) -> Row:
    unit = dec(currency.get("Unit")) or Decimal(1)
    rate = dec(currency.get("SellRate") or currency.get("BuyRate")) / unit
    name = currency.get("Description") or currency["Code"]
    return {
        "Id": currency_id,
        "IsoCode": currency["Code"],
        "Name": name,
        "RateToSek": rate.quantize(Decimal("0.000001")),
    }


# -- sales documents -------------------------------------------------------------------------


def order_status(order: Json) -> int:
    if order.get("Cancelled"):
        return ORDER_CANCELLED
    if small_int(order.get("InvoiceReference")):
        return ORDER_INVOICED.id
    delivered = any(dec(row.get("DeliveredQuantity")) > 0 for row in order.get("OrderRows", []))
    return ORDER_PART_DELIVERED if delivered else ORDER_CONFIRMED


def invoice_status(invoice: Json) -> int:
    credit = is_credit(invoice)
    if invoice.get("Cancelled"):
        return CREDIT_CANCELLED if credit else INVOICE_CANCELLED
    if not (invoice.get("Booked") or invoice.get("Sent")):
        return CREDIT_DRAFT if credit else INVOICE_DRAFT
    if credit:
        return CREDIT_SENT
    return INVOICE_REMINDED if invoice.get("Reminders") else INVOICE_SENT


def is_credit(invoice: Json) -> bool:
    return str(invoice.get("Credit", "")).lower() == "true"


def order_document(order: Json, order_id: int, refs: Refs) -> Row:
    return _sales_document(order, order_id, refs) | {
        "OrderStatusId": order_status(order),
        "DateOrder": day(order["OrderDate"]),
        "DateDelivery": day(order.get("DeliveryDate") or order["OrderDate"]),
        "InvoiceNumber": small_int(order.get("InvoiceReference")),
        "DateInvoice": None,
        "DateDue": None,
    }


def invoice_document(invoice: Json, invoice_id: int, refs: Refs) -> Row:
    credited = refs.documents.get(invoice.get("CreditInvoiceReference") or "") if is_credit(invoice) else None
    return _sales_document(invoice, invoice_id, refs) | {
        "OrderStatusId": invoice_status(invoice),
        "DateOrder": day(invoice["InvoiceDate"]),
        "DateDelivery": day(invoice.get("DeliveryDate") or invoice["InvoiceDate"]),
        "InvoiceNumber": small_int(invoice["DocumentNumber"]),
        "DateInvoice": day(invoice["InvoiceDate"]),
        "DateDue": day(invoice.get("DueDate")),
        "CreditOfOrderId": credited,
    }


def _sales_document(document: Json, document_id: int, refs: Refs) -> Row:
    total, vat = money(document.get("Total")), money(document.get("TotalVAT"))
    return {
        "Id": document_id,
        "CompanyId": refs.companies[document["CustomerNumber"]],
        "Name": document.get("YourReference") or None,
        "PurchaseNumber": small_int(document.get("YourOrderNumber")),
        "CurrencyId": refs.currencies[document.get("Currency") or "SEK"],
        "TotalExVat": total - vat,
        "TotalVat": vat,
        "TotalIncVat": total,
        "CreditOfOrderId": None,
    }


def order_lines(order: Json, order_id: int, refs: Refs) -> list[Row]:
    number = order["DocumentNumber"]
    return [
        _sales_line(row, refs.lines[line_key(number, row["RowId"])], order_id, refs)
        | {"QtyOrdered": dec(row.get("OrderedQuantity")), "QtyDelivered": dec(row.get("DeliveredQuantity"))}
        for row in order.get("OrderRows", [])
    ]


def invoice_lines(invoice: Json, invoice_id: int, refs: Refs) -> list[Row]:
    number, sign = invoice["DocumentNumber"], -1 if is_credit(invoice) else 1
    lines = []
    for row in invoice.get("InvoiceRows", []):
        line = _sales_line(row, refs.lines[line_key(number, row["RowId"])], invoice_id, refs)
        qty = abs(dec(row.get("DeliveredQuantity")))
        signed = {name: sign * abs(line[name]) for name in ("Price", "SumExVat", "SumIncVat")}
        lines.append(line | signed | {"QtyOrdered": qty, "QtyDelivered": qty})
    return lines


def _sales_line(row: Json, line_id: int, document_id: int, refs: Refs) -> Row:
    vat_rate = dec(row.get("VAT")) / 100
    sum_ex_vat = money(row.get("Total"))
    return {
        "Id": line_id,
        "OrderId": document_id,
        "LineNo": int(row["RowId"]),
        "ProductId": refs.products.get(row.get("ArticleNumber") or ""),
        "Description": row.get("Description") or row.get("ArticleNumber") or "",
        "VendorProductNumber": None,
        "Price": money(row.get("Price")),
        "Discount": _discount_percent(row),
        "VatRate": vat_rate,
        "SumExVat": sum_ex_vat,
        "SumIncVat": money(sum_ex_vat * (1 + vat_rate)),
    }


def _discount_percent(row: Json) -> Decimal:
    discount = dec(row.get("Discount"))
    if row.get("DiscountType") == "AMOUNT" and discount:
        gross = dec(row.get("Price")) * abs(dec(row.get("DeliveredQuantity") or row.get("OrderedQuantity")))
        return (discount / gross * 100).quantize(CENT) if gross else Decimal(0)
    return discount.quantize(CENT)


def payment_row(payment: Json, payment_id: int, invoice_id: int) -> Row:
    amount = payment.get("AmountCurrency") or payment.get("Amount")
    return {
        "Id": payment_id,
        "OrderId": invoice_id,
        "Amount": money(amount),
        "DatePaid": day(payment["PaymentDate"]),
    }


# -- purchasing and the warehouse -----------------------------------------------------------------


def purchase_order_status(po: Json) -> int:
    state = po.get("purchaseOrderState")
    if po.get("voided") or state == "VOIDED":
        return PO_CANCELLED
    if state == "RECEIVED" or po.get("manuallyCompleted"):
        return PO_CLOSED
    if dec(po.get("totalReceivedQuantity")) > 0:
        return PO_PART_RECEIVED
    return PO_PRELIMINARY if state == "NOT_SENT" else PO_ORDERED


def purchase_order_document(po: Json, po_id: int, refs: Refs) -> Row:
    lines = purchase_order_lines(po, po_id, refs)
    ex_vat = sum((line["SumExVat"] for line in lines), Decimal(0))
    vat = sum((line["SumIncVat"] - line["SumExVat"] for line in lines), Decimal(0))
    return {
        "Id": po_id,
        "OrderStatusId": purchase_order_status(po),
        "CompanyId": refs.companies[po["supplierNumber"]],
        "Name": po.get("yourReference") or None,
        "PurchaseNumber": small_int(po["id"]),
        "InvoiceNumber": None,
        "DateOrder": day(po["orderDate"]),
        "DateDelivery": day(po.get("deliveryDate") or po["orderDate"]),
        "DateInvoice": None,
        "DateDue": None,
        "CurrencyId": refs.currencies[po.get("currencyCode") or "SEK"],
        "TotalExVat": ex_vat,
        "TotalVat": vat,
        "TotalIncVat": ex_vat + vat,
        "CreditOfOrderId": None,
    }


PURCHASE_VAT = Decimal("0.25")


def purchase_order_lines(po: Json, po_id: int, refs: Refs) -> list[Row]:
    lines = []
    for row in po.get("rows", []):
        qty, price = dec(row.get("orderedQuantity")), money(row.get("price"))
        sum_ex_vat = money(qty * price)
        lines.append(
            {
                "Id": refs.lines[row["id"]],
                "OrderId": po_id,
                "LineNo": int(row.get("rowNum") or 0),
                "ProductId": refs.products.get(row.get("itemId") or ""),
                "Description": row.get("itemDescription") or row.get("itemId") or "",
                "VendorProductNumber": None,
                "QtyOrdered": qty,
                "QtyDelivered": dec(row.get("receivedQuantity")),
                "Price": price,
                "Discount": Decimal(0),
                "VatRate": PURCHASE_VAT,
                "SumExVat": sum_ex_vat,
                "SumIncVat": money(sum_ex_vat * (1 + PURCHASE_VAT)),
            }
        )
    return lines


def receipt_rows(goods: Json, refs: Refs, unit_price_sek: Mapping[int, Decimal]) -> list[Row]:
    """Goods receipts of an incoming-goods document: one per received row on a purchase-order row.

    The unit price is the purchase-order row's price in SEK; a row counts as booked once
    Fortnox has matched its whole received quantity to a supplier invoice."""
    rows = []
    for row in goods.get("rows", []):
        item = refs.lines.get(row.get("purchaseOrderRowId") or "")
        received = dec(row.get("receivedQuantity"))
        if item is None or received <= 0:
            continue
        rows.append(
            {
                "Id": refs.lines[row["id"]],
                "OrderItemId": item,
                "ProductId": refs.products[row["itemId"]],
                "WarehouseLocationId": refs.locations.get(row.get("stockLocationId") or ""),
                "Qty": received,
                "UnitPriceSek": unit_price_sek.get(item, Decimal(0)),
                "DateTransaction": day(goods["date"]),
                "IsBooked": dec(row.get("invoicedQuantity")) >= received,
            }
        )
    return rows


def warehouse_row(stock_point: Json, warehouse_id: int) -> Row:
    return {"Id": warehouse_id, "Name": stock_point.get("name") or stock_point["code"]}


def location_row(location: Json, location_id: int, warehouse_id: int) -> Row:
    return {"Id": location_id, "WarehouseId": warehouse_id, "Name": location.get("code") or location["name"]}


WHOLE_STOCK_POINT = "*"  # the location name under which a stock point's balance is shown


def stock_key(item: str, stock_point: str) -> str:
    return f"{item}@{stock_point}"


def purchase_order_incoming(po: Json) -> dict[str, Decimal]:
    """What a purchase order still brings into stock, per ``stock_key`` (article and stock point):
    the rows' ``remainingOrderedQuantity`` while the order is with the supplier (sent, not yet
    received, voided or completed by hand). A drop-shipped order goes to the customer, not into
    stock, and a row that is no stock item brings nothing. A row arrives at its own stock point,
    else at the order's; one naming neither is left out (Fortnox gives every warehouse order one).
    """
    if purchase_order_status(po) not in (PO_ORDERED, PO_PART_RECEIVED):
        return {}
    if po.get("dropship") or po.get("purchaseType") == "DROPSHIP":
        return {}
    incoming: dict[str, Decimal] = {}
    for row in po.get("rows", []):
        point = row.get("stockPointCode") or po.get("stockPointCode")
        if not (row.get("itemId") and point) or row.get("isStockItem") is False:
            continue
        remaining = row.get("remainingOrderedQuantity")
        if remaining is None:
            remaining = max(dec(row.get("orderedQuantity")) - dec(row.get("receivedQuantity")), Decimal(0))
        if (qty := dec(remaining)) > 0:
            key = stock_key(row["itemId"], point)
            incoming[key] = incoming.get(key, Decimal(0)) + qty
    return incoming


def stock_row(balance: Json, stock_id: int, refs: Refs, incoming: Decimal = Decimal(0)) -> Row:
    """A stock point's balance of an article, with what open purchase orders bring to it
    (``purchase_order_incoming``, summed). Fortnox keeps stock per stock point, not per location,
    so it is shown on the stock point's location ``*``."""
    code = balance["stockPointCode"]
    in_stock = dec(balance.get("inStock"))
    return {
        "Id": stock_id,
        "ProductId": refs.products[balance["itemId"]],
        "WarehouseId": refs.warehouses[code],
        "WarehouseLocationId": refs.locations[code],
        "QtyInStock": in_stock,
        "QtyIncoming": incoming,
        "QtyOutgoing": max(in_stock - dec(balance.get("availableStock")), Decimal(0)),
    }


# -- payables -------------------------------------------------------------------------------------


def is_payable(invoice: Json) -> bool:
    """A supplier invoice in the books: booked and not cancelled (the list calls it ``Cancel``)."""
    return bool(invoice.get("Booked")) and not (invoice.get("Cancelled") or invoice.get("Cancel"))


def supplier_invoice_row(invoice: Json, invoice_id: int, refs: Refs) -> Row:
    """``/3/supplierinvoices/{GivenNumber}`` to a ``SupplierInvoice``: ``Total`` includes ``VAT``;
    the supplier's own number is ``InvoiceNumber`` (Fortnox's ``GivenNumber`` when empty)."""
    total, vat = money(invoice.get("Total")), money(invoice.get("VAT"))
    return {
        "Id": invoice_id,
        "SupplierId": refs.companies[invoice["SupplierNumber"]],
        "PurchaseOrderId": None,
        "InvoiceNumber": (invoice.get("InvoiceNumber") or invoice["GivenNumber"])[:40],
        "DateInvoice": day(invoice["InvoiceDate"]),
        "DateDue": day(invoice.get("DueDate") or invoice["InvoiceDate"]),
        "CurrencyId": refs.currencies[invoice.get("Currency") or "SEK"],
        "TotalExVat": total - vat,
        "TotalVat": vat,
        "TotalIncVat": total,
    }


def supplier_payment_row(payment: Json, payment_id: int, invoice_id: int) -> Row:
    """A payment in the invoice's currency (``AmountCurrency``; ``Amount`` is in SEK)."""
    amount = payment.get("AmountCurrency")
    if amount is None:
        amount = dec(payment.get("Amount")) / (dec(payment.get("CurrencyRate")) or Decimal(1))
    return {
        "Id": payment_id,
        "SupplierInvoiceId": invoice_id,
        "Amount": money(amount),
        "DatePaid": day(payment["PaymentDate"]),
    }
