"""The double's Fortnox objects, made from a tenant the demo generator wrote.

Sales orders (confirmed, part delivered, cancelled) become ``/3/orders``; invoices and credit
notes ``/3/invoices`` (credits with ``Credit: "true"``, negative quantities and totals, as
Fortnox has them); payments ``/3/invoicepayments``; purchase orders ``purchaseorders-v1``;
goods receipts, grouped per purchase order and day, ``incominggoods-v1`` (a purchase order is
delivered to the stock point its goods were received in, and its rows to theirs); warehouses and
locations ``stockpoints-v1``; stock summed per warehouse ``status-v1/stockbalance``; the demo's
supplier invoices (payables) ``/3/supplierinvoices`` and their payments
``/3/supplierinvoicepayments`` (``Amount`` in SEK, ``AmountCurrency`` in the invoice's). Every
object has a modification time (``modified``) that ``lastmodified`` filters on.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments

Json = dict[str, Any]
NAMESPACE = uuid.UUID("6f1c2a0e-0000-4000-8000-000000000000")
OPEN_SALES_ORDER = {12, 13, 14}
INVOICE_STATUSES = {20, 21, 22, 23}
CREDIT_STATUSES = {30, 31, 32}
PO_STATE = {40: "NOT_SENT", 41: "SENT", 42: "SENT", 43: "RECEIVED", 44: "VOIDED"}


def uid(kind: str, key: Any) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def num(value: Any) -> Any:
    """Decimals as plain JSON numbers (ints when whole)."""
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class FortnoxData:
    customers: dict[str, Json] = field(default_factory=dict)
    suppliers: dict[str, Json] = field(default_factory=dict)
    articles: dict[str, Json] = field(default_factory=dict)
    currencies: dict[str, Json] = field(default_factory=dict)
    orders: dict[str, Json] = field(default_factory=dict)
    invoices: dict[str, Json] = field(default_factory=dict)
    payments: dict[str, Json] = field(default_factory=dict)
    purchase_orders: dict[str, Json] = field(default_factory=dict)
    incoming_goods: dict[str, Json] = field(default_factory=dict)
    stock_points: dict[str, Json] = field(default_factory=dict)
    stock_balance: list[Json] = field(default_factory=list)
    supplier_invoices: dict[str, Json] = field(default_factory=dict)
    supplier_payments: dict[str, Json] = field(default_factory=dict)
    modified: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def documents(self) -> int:
        kinds = (self.orders, self.invoices, self.payments, self.purchase_orders, self.incoming_goods)
        return sum(map(len, (*kinds, self.supplier_invoices, self.supplier_payments)))


def from_demo(engine: sa.Engine, *, created: datetime | None = None) -> FortnoxData:
    data = FortnoxData()
    with engine.connect() as conn:
        currencies = {r.Id: r for r in conn.execute(sa.select(s.currencies))}
        companies = {r.Id: r for r in conn.execute(sa.select(s.companies))}
        products = {r.Id: r for r in conn.execute(sa.select(s.products))}
        items: dict[int, list[Any]] = defaultdict(list)
        for item in conn.execute(
            sa.select(s.order_items).order_by(s.order_items.c.OrderId, s.order_items.c.LineNo)
        ):
            items[item.OrderId].append(item)
        paid: dict[int, Decimal] = defaultdict(Decimal)
        payment_rows = list(conn.execute(sa.select(s.payments).order_by(s.payments.c.Id)))
        for p in payment_rows:
            paid[p.OrderId] += p.Amount
        documents = list(conn.execute(sa.select(s.orders).order_by(s.orders.c.Id)))
        _currencies(data, currencies.values())
        _parties(data, companies.values(), currencies)
        _articles(data, conn, products)
        _warehouses(data, conn)
        points = sorted(conn.execute(sa.select(s.warehouses.c.Id)).scalars())
        arrivals = _arrivals(conn)
        codes = {r.Id: r.IsoCode for r in currencies.values()}
        for doc in documents:
            company = companies[doc.CompanyId]
            if doc.OrderStatusId in OPEN_SALES_ORDER:
                data.orders[str(doc.Id)] = _order(doc, company, items[doc.Id], products, codes)
            elif doc.OrderStatusId in INVOICE_STATUSES | CREDIT_STATUSES:
                data.invoices[str(doc.Id)] = _invoice(
                    doc, company, items[doc.Id], products, codes, paid[doc.Id]
                )
            elif doc.OrderStatusId in PO_STATE:
                rate = currencies[doc.CurrencyId].RateToSek
                po = _purchase_order(doc, company, items[doc.Id], products, codes, rate)
                data.purchase_orders[str(doc.Id)] = po | _destination(po, items[doc.Id], arrivals, points)
        for p in payment_rows:
            if str(p.OrderId) in data.invoices:
                data.payments[str(p.Id)] = _payment(p, data.invoices[str(p.OrderId)])
        _incoming_goods(data, conn, documents, companies, products)
        _supplier_invoices(data, conn, companies, currencies)
    stamp = created or datetime(2026, 1, 1)
    kinds = ("customers", "suppliers", "articles", "orders", "invoices", "payments")
    for kind in (*kinds, "supplier_invoices", "supplier_payments"):
        for key in getattr(data, kind):
            data.modified[kind, key] = stamp
    return data


def _currencies(data: FortnoxData, rows: Any) -> None:
    for c in rows:
        if c.IsoCode != "SEK":
            rate = num(c.RateToSek)
            data.currencies[c.IsoCode] = {
                "Code": c.IsoCode,
                "Description": c.Name,
                "BuyRate": rate,
                "SellRate": rate,
                "Unit": 1,
                "Date": "2026-11-01",
                "IsAutomatic": True,
            }


def _parties(data: FortnoxData, companies: Any, currencies: dict[int, Any]) -> None:
    for c in companies:
        base = {
            "Name": c.Name,
            "OrganisationNumber": c.Orgno or "",
            "Active": not c.Inactive,
            "Currency": currencies[c.CurrencyId].IsoCode if c.CurrencyId else "SEK",
        }
        if c.IsCustomer:
            data.customers[str(c.Id)] = {
                "CustomerNumber": str(c.Id),
                **base,
                "City": "Stockholm",
                "Type": "COMPANY",
            }
        if c.IsVendor:
            data.suppliers[str(c.Id)] = {"SupplierNumber": str(c.Id), **base, "City": "Göteborg"}


def _articles(data: FortnoxData, conn: sa.Connection, products: dict[int, Any]) -> None:
    sp = s.supplier_prices
    cheapest: dict[int, Any] = {}
    for price in conn.execute(
        sa.select(sp).where(sp.c.CurrencyId == 1).order_by(sp.c.ProductId, sp.c.Price, sp.c.Id)
    ):
        cheapest.setdefault(price.ProductId, price)
    for p in products.values():
        article = {
            "ArticleNumber": p.ProductNumber,
            "Description": p.Description,
            "EAN": p.Barcode or "",
            "Active": bool(p.IsActive),
            "SalesPrice": num(p.DefaultPrice),
            "Type": "STOCK",
            "Unit": "st",
        }
        if best := cheapest.get(p.Id):
            article |= {
                "SupplierNumber": str(best.SupplierId),
                "PurchasePrice": num(best.Price),
                "ManufacturerArticleNumber": best.SupplierProductNumber or "",
            }
        data.articles[p.ProductNumber] = article


def _warehouses(data: FortnoxData, conn: sa.Connection) -> None:
    locations: dict[int, list[Any]] = defaultdict(list)
    for loc in conn.execute(sa.select(s.warehouse_locations).order_by(s.warehouse_locations.c.Id)):
        locations[loc.WarehouseId].append(loc)
    for w in conn.execute(sa.select(s.warehouses).order_by(s.warehouses.c.Id)):
        point = uid("stockpoint", w.Id)
        data.stock_points[point] = {
            "id": point,
            "code": f"LAGER{w.Id}",
            "name": w.Name,
            "active": True,
            "stockLocations": [
                {"id": uid("location", loc.Id), "code": loc.Name, "name": loc.Name, "stockPointId": point}
                for loc in locations[w.Id]
            ],
        }
    ps, pr = s.product_stock, s.products
    stmt = (
        sa.select(
            pr.c.ProductNumber, ps.c.WarehouseId, sa.func.sum(ps.c.QtyInStock), sa.func.sum(ps.c.QtyOutgoing)
        )
        .join(pr, pr.c.Id == ps.c.ProductId)
        .group_by(pr.c.ProductNumber, ps.c.WarehouseId)
        .order_by(pr.c.ProductNumber, ps.c.WarehouseId)
    )
    for number, warehouse, in_stock, outgoing in conn.execute(stmt):
        data.stock_balance.append(
            {
                "itemId": number,
                "stockPointCode": f"LAGER{warehouse}",
                "inStock": num(in_stock),
                "availableStock": num(Decimal(str(in_stock)) - Decimal(str(outgoing))),
            }
        )


def _row(item: Any, products: dict[int, Any]) -> Json:
    return {
        "RowId": item.LineNo,
        "ArticleNumber": products[item.ProductId].ProductNumber if item.ProductId else "",
        "Description": item.Description,
        "Price": num(abs(item.Price)),
        "Discount": num(item.Discount),
        "DiscountType": "PERCENT",
        "VAT": num(item.VatRate * 100),
        "Unit": "st",
    }


def _order(doc: Any, company: Any, items: list[Any], products: dict[int, Any], codes: dict[int, str]) -> Json:
    rows = [
        _row(i, products)
        | {
            "OrderedQuantity": str(num(i.QtyOrdered)),
            "DeliveredQuantity": str(num(i.QtyDelivered)),
            "Total": num(i.SumExVat),
        }
        for i in items
    ]
    return {
        "DocumentNumber": str(doc.Id),
        "CustomerNumber": str(company.Id),
        "CustomerName": company.Name,
        "OrderDate": doc.DateOrder.date().isoformat(),
        "DeliveryDate": doc.DateDelivery.date().isoformat(),
        "Currency": codes[doc.CurrencyId],
        "Cancelled": doc.OrderStatusId == 14,
        "Total": num(doc.TotalIncVat),
        "TotalVAT": num(doc.TotalVat),
        "Net": num(doc.TotalExVat),
        "YourReference": doc.Name or "",
        "YourOrderNumber": str(doc.PurchaseNumber or ""),
        "InvoiceReference": "0",
        "OrderRows": rows,
    }


def _invoice(
    doc: Any, company: Any, items: list[Any], products: dict[int, Any], codes: dict[int, str], paid: Decimal
) -> Json:
    credit = doc.OrderStatusId in CREDIT_STATUSES
    sign = -1 if credit else 1
    rows = [
        _row(i, products)
        | {"DeliveredQuantity": str(num(sign * abs(i.QtyDelivered))), "Total": num(i.SumExVat)}
        for i in items
    ]
    sent = doc.OrderStatusId in {21, 22, 31}
    invoice = {
        "DocumentNumber": str(doc.Id),
        "CustomerNumber": str(company.Id),
        "CustomerName": company.Name,
        "InvoiceDate": doc.DateInvoice.date().isoformat(),
        "DueDate": (doc.DateDue or doc.DateInvoice).date().isoformat(),
        "DeliveryDate": doc.DateDelivery.date().isoformat(),
        "Currency": codes[doc.CurrencyId],
        "Cancelled": doc.OrderStatusId in {23, 32},
        "Booked": sent,
        "Sent": sent,
        "Reminders": 1 if doc.OrderStatusId == 22 else 0,
        "Credit": "true" if credit else "false",
        "Total": num(doc.TotalIncVat),
        "TotalVAT": num(doc.TotalVat),
        "Net": num(doc.TotalExVat),
        "Balance": num(doc.TotalIncVat - paid),
        "YourReference": doc.Name or "",
        "YourOrderNumber": str(doc.PurchaseNumber or ""),
        "InvoiceType": "INVOICE",
        "InvoiceRows": rows,
    }
    if credit and doc.CreditOfOrderId:
        invoice["CreditInvoiceReference"] = str(doc.CreditOfOrderId)
    return invoice


def _supplier_invoices(data: FortnoxData, conn: sa.Connection, companies: Any, currencies: Any) -> None:
    """Booked supplier invoices as Fortnox has them (amounts typed as strings, as the spec says)."""
    paid: dict[int, Decimal] = defaultdict(Decimal)
    payments = list(conn.execute(sa.select(supplier_payments).order_by(supplier_payments.c.Id)))
    for p in payments:
        paid[p.SupplierInvoiceId] += p.Amount
    for inv in conn.execute(sa.select(supplier_invoices).order_by(supplier_invoices.c.Id)):
        currency = currencies[inv.CurrencyId]
        data.supplier_invoices[str(inv.Id)] = {
            "GivenNumber": str(inv.Id),
            "SupplierNumber": str(inv.SupplierId),
            "SupplierName": companies[inv.SupplierId].Name,
            "InvoiceNumber": inv.InvoiceNumber,
            "InvoiceDate": inv.DateInvoice.date().isoformat(),
            "DueDate": inv.DateDue.date().isoformat(),
            "Currency": currency.IsoCode,
            "CurrencyRate": str(num(currency.RateToSek)),
            "CurrencyUnit": 1,
            "Total": str(num(inv.TotalIncVat)),
            "VAT": str(num(inv.TotalVat)),
            "Balance": str(num(inv.TotalIncVat - paid[inv.Id])),
            "Booked": True,
            "Cancelled": False,
            "Credit": False,
        }
    for p in payments:
        invoice = data.supplier_invoices[str(p.SupplierInvoiceId)]
        rate = Decimal(invoice["CurrencyRate"])
        data.supplier_payments[str(p.Id)] = {
            "Number": p.Id,
            "InvoiceNumber": invoice["GivenNumber"],
            "Amount": num((p.Amount * rate).quantize(Decimal("0.01"))),
            "AmountCurrency": num(p.Amount),
            "Currency": invoice["Currency"],
            "CurrencyRate": num(rate),
            "CurrencyUnit": 1,
            "PaymentDate": p.DatePaid.date().isoformat(),
            "Booked": True,
            "Source": "manual",
        }


def _payment(payment: Any, invoice: Json) -> Json:
    return {
        "Number": str(payment.Id),
        "InvoiceNumber": int(invoice["DocumentNumber"]),
        "Amount": num(payment.Amount),
        "AmountCurrency": num(payment.Amount),
        "Currency": invoice["Currency"],
        "PaymentDate": payment.DatePaid.date().isoformat(),
        "Booked": True,
        "Source": "manual",
        "InvoiceCustomerNumber": invoice["CustomerNumber"],
    }


def _purchase_order(
    doc: Any, company: Any, items: list[Any], products: dict[int, Any], codes: dict[int, str], rate: Decimal
) -> Json:
    rows = [
        {
            "id": uid("porow", i.Id),
            "rowNum": i.LineNo,
            "purchaseOrderId": doc.Id,
            "itemId": products[i.ProductId].ProductNumber if i.ProductId else "",
            "itemDescription": i.Description,
            "orderedQuantity": num(i.QtyOrdered),
            "receivedQuantity": num(i.QtyDelivered),
            "price": num(i.Price),
            "remainingOrderedQuantity": num(max(i.QtyOrdered - i.QtyDelivered, 0)),
            "isStockItem": True,
            "currencyCode": codes[doc.CurrencyId],
        }
        for i in items
    ]
    state = PO_STATE[doc.OrderStatusId]
    return {
        "id": doc.Id,
        "supplierNumber": str(company.Id),
        "supplierName": company.Name,
        "orderDate": doc.DateOrder.date().isoformat(),
        "deliveryDate": doc.DateDelivery.date().isoformat(),
        "currencyCode": codes[doc.CurrencyId],
        "currencyRate": num(rate),
        "currencyUnit": 1,
        "purchaseOrderState": state,
        "voided": state == "VOIDED",
        "manuallyCompleted": False,
        "totalReceivedQuantity": num(sum((i.QtyDelivered for i in items), Decimal(0))),
        "orderValue": num(doc.TotalExVat),
        "yourReference": doc.Name or "",
        "purchaseType": "WAREHOUSE",
        "deliveryName": "Lagret",
        "deliveryAddress": "Lagervägen 1",
        "deliveryZipCode": "12345",
        "deliveryCity": "Stockholm",
        "paymentTermsCode": "30",
        "rows": rows,
    }


def _arrivals(conn: sa.Connection) -> dict[int, int]:
    """The warehouse each purchase-order line's goods were received in (its first receipt)."""
    it, loc = s.inv_transactions, s.warehouse_locations
    stmt = sa.select(it.c.OrderItemId, loc.c.WarehouseId).join(loc, loc.c.Id == it.c.WarehouseLocationId)
    found: dict[int, int] = {}
    for item, warehouse in conn.execute(stmt.order_by(it.c.Id)):
        found.setdefault(item, warehouse)
    return found


def _destination(po: Json, items: list[Any], arrivals: dict[int, int], points: list[int]) -> Json:
    """The stock point a purchase order is delivered to, and each row's own where its goods were
    received somewhere (Fortnox puts the order's stock point on rows that name none)."""
    received = [arrivals[i.Id] for i in items if i.Id in arrivals]
    warehouse = received[0] if received else points[po["id"] % len(points)]
    rows = [
        row
        | (
            {"stockPointCode": f"LAGER{arrivals[i.Id]}", "stockPointId": uid("stockpoint", arrivals[i.Id])}
            if i.Id in arrivals
            else {}
        )
        for row, i in zip(po["rows"], items, strict=True)
    ]
    return {"stockPointCode": f"LAGER{warehouse}", "stockPointId": uid("stockpoint", warehouse), "rows": rows}


def _incoming_goods(
    data: FortnoxData,
    conn: sa.Connection,
    documents: list[Any],
    companies: dict[int, Any],
    products: dict[int, Any],
) -> None:
    it, oi = s.inv_transactions, s.order_items
    owner = {d.Id: d for d in documents}
    groups: dict[tuple[int, str], list[Any]] = defaultdict(list)
    stmt = sa.select(it, oi.c.OrderId).join(oi, oi.c.Id == it.c.OrderItemId).order_by(it.c.Id)
    for receipt in conn.execute(stmt):
        groups[receipt.OrderId, receipt.DateTransaction.date().isoformat()].append(receipt)
    locations = {loc.Id: loc.WarehouseId for loc in conn.execute(sa.select(s.warehouse_locations))}
    for number, ((po_id, day), receipts) in enumerate(sorted(groups.items()), start=1):
        company = companies[owner[po_id].CompanyId]
        rows = [
            {
                "id": uid("receipt", r.Id),
                "purchaseOrderId": po_id,
                "purchaseOrderRowId": uid("porow", r.OrderItemId),
                "itemId": products[r.ProductId].ProductNumber,
                "itemDescription": products[r.ProductId].Description,
                "receivedQuantity": num(r.Qty),
                "invoicedQuantity": num(r.Qty if r.IsBooked else 0),
                "orderedQuantity": num(r.Qty),
                "backOrderQuantity": 0,
                "takenQuantity": 0,
                "stockLocationId": uid("location", r.WarehouseLocationId) if r.WarehouseLocationId else "",
                "stockPointId": uid("stockpoint", locations.get(r.WarehouseLocationId, 1)),
                "isStockItem": True,
            }
            for r in receipts
        ]
        for row in rows:
            if not row["stockLocationId"]:
                del row["stockLocationId"]
        data.incoming_goods[str(number)] = {
            "id": number,
            "date": day,
            "supplierNumber": str(company.Id),
            "supplierName": company.Name,
            "released": True,
            "completed": True,
            "voided": False,
            "hasDeliveryNote": True,
            "deliveryNoteId": f"FS-{number}",
            "stockPointId": rows[0]["stockPointId"],
            "rows": rows,
        }


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
