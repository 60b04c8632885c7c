"""The pure mapping from Fortnox JSON to our rows, and the small Fortnox conventions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx

from connectors.fortnox import mapping as m
from connectors.fortnox.client import error_message, lastmodified

REFS = m.Refs(
    companies={"17": 5},
    products={"A-1": 9},
    currencies={"SEK": 1, "EUR": 2},
    lines={"4/1": 40, "4/2": 41, "row-uuid": 70, "receipt-uuid": 80},
    documents={"3": 30},
    locations={"loc-uuid": 6},
)


def credit_invoice() -> dict[str, object]:
    return {
        "DocumentNumber": "4",
        "CustomerNumber": "17",
        "InvoiceDate": "2026-11-02",
        "Currency": "EUR",
        "Credit": "true",
        "CreditInvoiceReference": "3",
        "Booked": True,
        "Total": -125.0,
        "TotalVAT": -25.0,
        "InvoiceRows": [
            {
                "RowId": 1,
                "ArticleNumber": "A-1",
                "DeliveredQuantity": "-2",
                "Price": 50,
                "VAT": 25,
                "Total": -100,
            },
            {
                "RowId": 2,
                "Description": "Frakt",
                "DeliveredQuantity": "-1",
                "Price": 0,
                "VAT": 25,
                "Total": 0,
            },
        ],
    }


def test_a_credit_invoice_has_positive_quantities_and_negative_prices_and_sums() -> None:
    invoice = credit_invoice()
    document = m.invoice_document(invoice, 31, REFS)
    assert (document["OrderStatusId"], document["CreditOfOrderId"], document["CurrencyId"]) == (
        m.CREDIT_SENT,
        30,
        2,
    )
    assert (document["TotalIncVat"], document["TotalVat"], document["TotalExVat"]) == (
        Decimal("-125.00"),
        Decimal("-25.00"),
        Decimal("-100.00"),
    )
    first, second = m.invoice_lines(invoice, 31, REFS)
    assert (first["Id"], first["ProductId"], first["QtyDelivered"], first["Price"]) == (
        40,
        9,
        2,
        Decimal("-50.00"),
    )
    assert (first["SumExVat"], first["SumIncVat"]) == (Decimal("-100.00"), Decimal("-125.00"))
    assert (second["ProductId"], second["Description"]) == (None, "Frakt")


def test_order_states_map_to_statuses_with_the_right_flags() -> None:
    base = {"OrderRows": [{"OrderedQuantity": "3", "DeliveredQuantity": "0"}]}
    assert m.order_status(base) == m.ORDER_CONFIRMED
    assert (
        m.order_status({"OrderRows": [{"OrderedQuantity": "3", "DeliveredQuantity": "1"}]})
        == m.ORDER_PART_DELIVERED
    )
    assert m.order_status(base | {"InvoiceReference": "77"}) == m.ORDER_INVOICED.id
    assert m.order_status(base | {"Cancelled": True, "InvoiceReference": "77"}) == m.ORDER_CANCELLED
    invoiced = next(s for s in m.FORTNOX_STATUSES if s.id == m.ORDER_INVOICED.id)
    assert not (invoiced.is_order_intake or invoiced.is_sales)


def test_invoice_states_follow_sent_booked_reminded_and_cancelled() -> None:
    assert m.invoice_status({"Credit": "false"}) == m.INVOICE_DRAFT
    assert m.invoice_status({"Credit": "false", "Sent": True}) == m.INVOICE_SENT
    assert m.invoice_status({"Credit": "false", "Booked": True, "Reminders": 2}) == m.INVOICE_REMINDED
    assert m.invoice_status({"Credit": "false", "Booked": True, "Cancelled": True}) == m.INVOICE_CANCELLED


def test_a_discount_in_money_becomes_a_percentage() -> None:
    row = {
        "RowId": 1,
        "Price": 200,
        "OrderedQuantity": "5",
        "Discount": 100,
        "DiscountType": "AMOUNT",
        "Total": 900,
    }
    (line,) = m.order_lines({"DocumentNumber": "4", "OrderRows": [row]}, 3, REFS)
    assert line["Discount"] == Decimal("10.00")


def test_purchase_order_states_and_receipts() -> None:
    assert m.purchase_order_status({"purchaseOrderState": "NOT_SENT"}) == m.PO_PRELIMINARY
    assert (
        m.purchase_order_status({"purchaseOrderState": "SENT", "totalReceivedQuantity": 2})
        == m.PO_PART_RECEIVED
    )
    assert m.purchase_order_status({"purchaseOrderState": "RECEIVED"}) == m.PO_CLOSED
    assert m.purchase_order_status({"purchaseOrderState": "SENT", "voided": True}) == m.PO_CANCELLED
    goods = {
        "date": "2026-11-03",
        "rows": [
            {
                "id": "receipt-uuid",
                "purchaseOrderRowId": "row-uuid",
                "itemId": "A-1",
                "receivedQuantity": 4,
                "invoicedQuantity": 4,
                "stockLocationId": "loc-uuid",
            }
        ],
    }
    (receipt,) = m.receipt_rows(goods, REFS, {70: Decimal("114.5000")})
    assert (receipt["Id"], receipt["OrderItemId"], receipt["WarehouseLocationId"], receipt["IsBooked"]) == (
        80,
        70,
        6,
        True,
    )
    assert receipt["UnitPriceSek"] == Decimal("114.5000") and receipt["DateTransaction"] == datetime(
        2026, 11, 3
    )


def test_incoming_is_what_a_sent_purchase_order_still_brings_to_each_stock_point() -> None:
    po = {
        "purchaseOrderState": "SENT",
        "totalReceivedQuantity": 3,
        "stockPointCode": "MAIN",
        "rows": [
            {"itemId": "A-1", "orderedQuantity": 10, "receivedQuantity": 3, "remainingOrderedQuantity": 7},
            {"itemId": "A-1", "orderedQuantity": 2, "remainingOrderedQuantity": 2, "stockPointCode": "NORTH"},
            {"itemId": "A-1", "orderedQuantity": 5, "receivedQuantity": 1},  # remaining left out: 5 - 1
            {"itemId": "B-2", "orderedQuantity": 4, "remainingOrderedQuantity": 0},
            {"itemId": "FRAKT", "orderedQuantity": 1, "remainingOrderedQuantity": 1, "isStockItem": False},
        ],
    }
    assert m.purchase_order_incoming(po) == {"A-1@MAIN": Decimal(11), "A-1@NORTH": Decimal(2)}
    not_sent = {"purchaseOrderState": "NOT_SENT", "totalReceivedQuantity": 0}
    for closed in (not_sent, {"purchaseOrderState": "RECEIVED"}, {"voided": True}):
        assert m.purchase_order_incoming(po | closed) == {}
    assert m.purchase_order_incoming(po | {"manuallyCompleted": True}) == {}
    assert m.purchase_order_incoming(po | {"purchaseType": "DROPSHIP"}) == {}
    refs = m.Refs(products={"A-1": 9}, warehouses={"MAIN": 2}, locations={"MAIN": 20})
    balance = {"itemId": "A-1", "stockPointCode": "MAIN", "inStock": 8, "availableStock": 6}
    row = m.stock_row(balance, 1, refs, Decimal(11))
    assert (row["QtyInStock"], row["QtyOutgoing"], row["QtyIncoming"]) == (8, 2, 11)


def test_lastmodified_is_stockholm_time_to_the_minute() -> None:
    assert lastmodified(datetime(2026, 7, 1, 10, 15, 59)) == "2026-07-01 12:15"  # summer: UTC+2
    assert lastmodified(datetime(2026, 1, 1, 10, 15)) == "2026-01-01 11:15"


def test_fortnox_errors_are_read_in_either_case() -> None:
    upper = httpx.Response(
        400, json={"ErrorInformation": {"Error": 1, "Message": "Ogiltig parameter", "Code": 2000588}}
    )
    lower = httpx.Response(
        403, json={"ErrorInformation": {"error": 1, "message": "Saknar scope", "code": 2000663}}
    )
    warehouse = httpx.Response(404, json={"message": "Not found"})
    assert error_message(upper) == "Ogiltig parameter (code 2000588)"
    assert error_message(lower) == "Saknar scope (code 2000663)"
    assert error_message(warehouse) == "Not found"


def test_a_booked_supplier_invoice_is_a_payable_with_vat_inside_its_total() -> None:
    invoice = {
        "GivenNumber": "88",
        "SupplierNumber": "17",
        "InvoiceNumber": "F-2026-117",
        "InvoiceDate": "2026-10-01",
        "DueDate": "2026-10-31",
        "Currency": "EUR",
        "Total": "1250.00",
        "VAT": "250.00",
        "Booked": True,
        "Cancelled": False,
    }
    row = m.supplier_invoice_row(invoice, 12, REFS)
    assert (row["SupplierId"], row["CurrencyId"], row["InvoiceNumber"]) == (5, 2, "F-2026-117")
    assert (row["TotalExVat"], row["TotalVat"], row["TotalIncVat"]) == (
        Decimal("1000.00"),
        Decimal("250.00"),
        Decimal("1250.00"),
    )
    assert row["DateDue"] == datetime(2026, 10, 31)
    assert m.is_payable(invoice)
    assert not m.is_payable(invoice | {"Cancelled": True})
    assert not m.is_payable(invoice | {"Booked": False})
    assert not m.is_payable({"Booked": True, "Cancel": True})  # the list's spelling
    assert m.supplier_invoice_row(invoice | {"InvoiceNumber": ""}, 12, REFS)["InvoiceNumber"] == "88"


def test_a_supplier_payment_is_counted_in_the_invoices_currency() -> None:
    payment = {
        "Number": 7,
        "InvoiceNumber": "88",
        "Amount": 1150.0,
        "AmountCurrency": 100.0,
        "PaymentDate": "2026-10-20",
    }
    assert m.supplier_payment_row(payment, 3, 12) == {
        "Id": 3,
        "SupplierInvoiceId": 12,
        "Amount": Decimal("100.00"),
        "DatePaid": datetime(2026, 10, 20),
    }
    listed = {
        "Number": 7,
        "InvoiceNumber": "88",
        "Amount": 1150.0,
        "CurrencyRate": 11.5,
        "PaymentDate": "2026-10-20",
    }
    assert m.supplier_payment_row(listed, 3, 12)["Amount"] == Decimal("100.00")
