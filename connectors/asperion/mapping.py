"""Pure mappings from Asperion's JSON objects to our rows (no I/O; ids are given).

Asperion reports what is still outstanding per invoice, not the payments: the paid part of an
invoice (its total less what is outstanding) becomes one payment row, so our open amount is
Asperion's outstanding amount to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Json = dict[str, Any]
Row = dict[str, Any]
CENT = Decimal("0.01")
INVOICE_SENT = 21  # the reference status (tools.reference.STATUSES): a sent sales invoice


def money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT, ROUND_HALF_UP)


def day(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)[:10])


def party_company(party: Json, company_id: int, number_field: str, *, vendor: bool) -> Row:
    number = str(party.get(number_field) or "")
    return {
        "Id": company_id,
        "ContactNumber": int(number) if number.isdigit() and len(number) < 10 else company_id,
        "Name": str(party.get("name") or number or party["id"])[:200],
        "Orgno": party.get("cocNumber") or None,
        "IsCustomer": not vendor,
        "IsVendor": vendor,
        "Inactive": bool(party.get("blocked", False)),
        "CreditLimit": None,
        "CreditStop": False,
    }


def article_product(article: Json, product_id: int) -> Row:
    return {
        "Id": product_id,
        "ProductNumber": str(article.get("sku") or article["id"])[:40],
        "Description": str(article.get("description") or "")[:200],
        "Barcode": article.get("ean") or None,
        "IsActive": not article.get("blocked", False),
        "DefaultPrice": money(article.get("salesPrice")),
    }


def sales_invoice_document(invoice: Json, invoice_id: int, customer_id: int, currency_id: int) -> Row:
    when = day(invoice["invoiceDate"])
    return {
        "Id": invoice_id,
        "OrderStatusId": INVOICE_SENT,
        "CompanyId": customer_id,
        "Name": invoice.get("description") or None,
        "PurchaseNumber": None,
        "InvoiceNumber": int(invoice["invoiceNumber"]),
        "DateOrder": when,
        "DateDelivery": when,
        "DateInvoice": when,
        "DateDue": day(invoice["dueDate"]),
        "CurrencyId": currency_id,
        "TotalExVat": money(invoice["totalExclVat"]),
        "TotalVat": money(invoice["totalVat"]),
        "TotalIncVat": money(invoice["totalInclVat"]),
        "CreditOfOrderId": None,
    }


def line_key(invoice: Json, line: Json) -> str:
    return f"{invoice['id']}/{line['id']}"


def sales_invoice_lines(
    invoice: Json, invoice_id: int, line_ids: Mapping[str, int], products: Mapping[str, int]
) -> list[Row]:
    rows = []
    for number, line in enumerate(invoice.get("lines") or [], start=1):
        if line.get("bookingType") == "T":
            continue  # a text line
        qty, vat = Decimal(str(line.get("quantity") or 0)), Decimal(str(line.get("vatPercentage") or 0)) / 100
        ex_vat = money(line.get("totalExclVat"))
        rows.append(
            {
                "Id": line_ids[line_key(invoice, line)],
                "OrderId": invoice_id,
                "LineNo": number,
                "ProductId": products.get(str(line.get("articleSku") or "")),
                "Description": str(line.get("description") or "")[:200],
                "VendorProductNumber": None,
                "QtyOrdered": qty,
                "QtyDelivered": qty,
                "Price": money(line.get("unitPrice")),
                "Discount": Decimal(0),
                "VatRate": vat,
                "SumExVat": ex_vat,
                "SumIncVat": money(ex_vat * (1 + vat)),
            }
        )
    return rows


def supplier_invoice_row(invoice: Json, invoice_id: int, supplier_id: int, currency_id: int) -> Row:
    return {
        "Id": invoice_id,
        "SupplierId": supplier_id,
        "PurchaseOrderId": None,
        "InvoiceNumber": str(invoice.get("invoiceNumber") or invoice["id"])[:40],
        "DateInvoice": day(invoice["invoiceDate"]),
        "DateDue": day(invoice["dueDate"]),
        "CurrencyId": currency_id,
        "TotalExVat": money(invoice["totalExclVat"]),
        "TotalVat": money(invoice["totalVat"]),
        "TotalIncVat": money(invoice["totalInclVat"]),
    }


def paid_part(total: Decimal, outstanding: Decimal | None) -> Decimal:
    """What has been paid of an invoice whose total is ``total``: all of it when Asperion no
    longer lists it as outstanding."""
    return total - (outstanding if outstanding is not None else Decimal(0))
