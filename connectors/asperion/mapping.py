"""Pure mappings from Asperion's JSON objects to our rows (no I/O; ids are given).

What Asperion documents and what is inferred. Asperion's endpoint list ("API Endpoints",
``/v1/...``) names the resources and, in prose, a handful of attributes; its Swagger document
(``https://api-sandbox.asperion.nl/swagger/``) is not available offline, so the rest of every
object's shape is inferred and each mapping below says which is which:

- documented: the paths; ``X-TenantId``; sales-order and invoice lines' ``bookingType``
  ("A" article, "V" sales type, "G" ledger account, "T" text; a sales order only "A" or "T", and
  "A" requires the article's SKU, written ``ArticleSku``); articles' ``currentStock`` and
  ``SalesTypeId``; creditors' ``creditorKindId``; the outstanding invoices carry "Openstaand
  Bedrag, Datum, Leeftijd en Dagen Vervallen" (outstanding amount, date, age, days overdue)
  and the debtor's or creditor's "Naam, Nummer en ID" (name, number, id).
- inferred (camelCase, as the attributes the list does spell): every other field name, the
  ``page``/``pageSize`` paging with ``data`` and ``totalPages``, the detail ``/v1/<list>/{id}``
  (the list says the GET endpoints give an invoice's detail, and writes ``{id}`` paths for
  files and ledger accounts).

Asperion reports what is still outstanding per invoice, not the payments: the paid part of an
invoice (its total less what is outstanding) becomes one payment row, so our open amount is
Asperion's outstanding amount to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.core.values import money

Json = dict[str, Any]
Row = dict[str, Any]
INVOICE_SENT = 21  # the reference statuses (tools.reference.STATUSES): a sent sales invoice
ORDER_CONFIRMED = 12  # ... and a confirmed sales order (counts as order intake)
TEXT_LINE = "T"  # bookingType of a text line (documented): no quantity, not a row of ours


def day(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)[:10])


def party_company(party: Json, company_id: int, number_field: str, *, vendor: bool) -> Row:
    """A debtor (``/v1/debtors``) or creditor (``/v1/creditors``). Inferred: ``id``,
    ``debtorNumber``/``creditorNumber`` (the outstanding lists' "Nummer"), ``name`` ("Naam"),
    ``cocNumber`` (Chamber of Commerce number) and ``blocked``."""
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
    """An article (``/v1/articles``). Documented: the SKU (lines name articles by it) and
    ``currentStock`` (not kept: no warehouse, see the README). Inferred: ``sku``, ``description``,
    ``ean``, ``blocked``, ``salesPrice``."""
    return {
        "Id": product_id,
        "ProductNumber": str(article.get("sku") or article["id"])[:40],
        "Description": str(article.get("description") or "")[:200],
        "Barcode": article.get("ean") or None,
        "IsActive": not article.get("blocked", False),
        "DefaultPrice": money(article.get("salesPrice")),
    }


def _totals(document: Json) -> Row:
    """Inferred: ``totalExclVat``, ``totalVat``, ``totalInclVat`` on invoices and orders alike."""
    return {
        "TotalExVat": money(document["totalExclVat"]),
        "TotalVat": money(document["totalVat"]),
        "TotalIncVat": money(document["totalInclVat"]),
    }


def sales_invoice_document(invoice: Json, invoice_id: int, customer_id: int, currency_id: int) -> Row:
    """A sales invoice (``/v1/salesinvoiceswithlines``). Inferred: ``invoiceNumber``,
    ``invoiceDate``, ``dueDate``, ``description``, ``debtorId`` (the outstanding list's debtor
    "ID")."""
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
        **_totals(invoice),
        "CreditOfOrderId": None,
    }


def sales_order_document(order: Json, order_id: int, customer_id: int, currency_id: int) -> Row:
    """A sales order (``/v1/salesorderwithlines``, only in administrations with the inTrade
    package or the sales-order module). Documented: it names a debtor and has at least one "A"
    line. Inferred, as a sales invoice's: ``orderNumber``, ``orderDate``, ``deliveryDate``
    (the order date when absent), ``description``, the totals. No status is documented: every
    order is a confirmed one, in the order book."""
    when = day(order["orderDate"])
    return {
        "Id": order_id,
        "OrderStatusId": ORDER_CONFIRMED,
        "CompanyId": customer_id,
        "Name": order.get("description") or None,
        "PurchaseNumber": None,
        "InvoiceNumber": None,
        "DateOrder": when,
        "DateDelivery": day(order.get("deliveryDate") or order["orderDate"]),
        "DateInvoice": None,
        "DateDue": None,
        "CurrencyId": currency_id,
        **_totals(order),
        "CreditOfOrderId": None,
    }


def line_key(document: Json, line: Json) -> str:
    return f"{document['id']}/{line['id']}"


def document_lines(
    document: Json, document_id: int, line_ids: Mapping[str, int], products: Mapping[str, int]
) -> list[Row]:
    """The lines of an invoice or a sales order, text lines left out (documented ``bookingType``
    "T"). Inferred: ``lines`` with ``id``, ``articleSku`` (the list writes ``ArticleSku``),
    ``description``, ``quantity``, ``unitPrice``, ``vatPercentage``, ``totalExclVat``.

    Delivered is what was ordered: an invoice bills what was delivered, and Asperion's sales
    order "is meant for delivering ordered products" and takes them out of stock when it is
    made (its endpoint list, articles and sales orders); it records no delivery per line."""
    rows = []
    for number, line in enumerate(document.get("lines") or [], start=1):
        if line.get("bookingType") == TEXT_LINE:
            continue
        qty, vat = Decimal(str(line.get("quantity") or 0)), Decimal(str(line.get("vatPercentage") or 0)) / 100
        ex_vat = money(line.get("totalExclVat"))
        rows.append(
            {
                "Id": line_ids[line_key(document, line)],
                "OrderId": document_id,
                "LineNo": number,
                "ProductId": products.get(article_sku(line)),
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


def article_sku(line: Json) -> str:
    """The SKU of an article line: ``articleSku``, or ``ArticleSku`` as the endpoint list spells it."""
    return str(line.get("articleSku") or line.get("ArticleSku") or "")


def supplier_invoice_row(invoice: Json, invoice_id: int, supplier_id: int, currency_id: int) -> Row:
    """A purchase invoice (``/v1/purchaseinvoiceswithlines``). Inferred: ``invoiceNumber``
    (the supplier's number), ``invoiceDate``, ``dueDate``, ``creditorId``, the totals."""
    return {
        "Id": invoice_id,
        "SupplierId": supplier_id,
        "PurchaseOrderId": None,
        "InvoiceNumber": str(invoice.get("invoiceNumber") or invoice["id"])[:40],
        "DateInvoice": day(invoice["invoiceDate"]),
        "DateDue": day(invoice["dueDate"]),
        "CurrencyId": currency_id,
        **_totals(invoice),
    }


def outstanding_amounts(rows: list[Json]) -> dict[str, Decimal]:
    """Invoice id -> outstanding amount, from ``/v1/outstandingsalesinvoices`` or
    ``/v1/outstandingpurchaseinvoices``. Documented: the outstanding amount ("Openstaand
    Bedrag") per invoice. Inferred: ``invoiceId``, ``outstandingAmount``."""
    return {str(r["invoiceId"]): money(r["outstandingAmount"]) for r in rows}


def paid_part(total: Decimal, outstanding: Decimal | None) -> Decimal:
    """What has been paid of an invoice whose total is ``total``: all of it when Asperion no
    longer lists it as outstanding."""
    return total - (outstanding if outstanding is not None else Decimal(0))
