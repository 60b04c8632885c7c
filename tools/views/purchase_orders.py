"""Purchase orders: ``GET /purchase-orders``, PURCHASEORDER documents with what was received and
what of it the supplier has invoiced (goods receipts on the order's lines)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, fetch_page, page_of
from tools.reference import PURCHASEORDER
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    CENTS,
    NEWEST_ORDER_FIRST,
    QTY,
    DocumentParams,
    Percent,
    company_named,
    currency_coded,
    dated_within,
    free_text,
    header,
    in_status,
    o,
    page_request,
    percent,
    within,
)
from tools.wire import Money, QueryDateTime, UtcDateTime, WireModel

StatusKind = Literal["purchase", "any"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"purchase": "IsPurchase", "any": None}


class PurchaseOrderParams(DocumentParams):
    vendor_id: int | None = Field(None, description="Only orders to this supplier (the vendor's id)")
    vendor_name: str | None = Field(None, description="Substring of the supplier name, any case")
    currency: str | None = Field(None, description="Substring of the order's currency ISO code, e.g. EUR")
    status_id: int | None = Field(
        None,
        description="Exactly this OrderStatus id; replaces statusKind. A non-purchase status matches nothing",
    )
    status_kind: StatusKind = Field(
        "purchase",
        description="Which statuses count: purchase (default, active: ordered or partly delivered) or any",
    )
    order_date_from: QueryDateTime | None = Field(None, description="dateOrder on or after (ISO 8601)")
    order_date_to: QueryDateTime | None = Field(None, description="dateOrder on or before (ISO 8601)")
    delivery_date_from: QueryDateTime | None = Field(None, description="dateDelivery on or after")
    delivery_date_to: QueryDateTime | None = Field(None, description="dateDelivery on or before")
    total_ex_vat_min: Decimal | None = Field(None, description="Order total ex VAT at least this")
    total_ex_vat_max: Decimal | None = Field(None, description="Order total ex VAT at most this")
    open_to_invoice_min: Decimal | None = Field(
        None, description="Value received but not yet invoiced (openToInvoiceExVat) at least this"
    )
    open_to_invoice_max: Decimal | None = Field(
        None, description="Value received but not yet invoiced (openToInvoiceExVat) at most this"
    )
    q: str | None = Field(
        None,
        description="Free text: order id or purchase number (exact), or part of the supplier or order name",
    )


class PurchaseOrderDto(WireModel):
    id: int
    purchase_number: int | None
    vendor_id: int
    vendor_name: str
    vendor_orgno: str | None
    status_id: int
    status_name: str
    date_order: UtcDateTime
    date_delivery: UtcDateTime
    date_invoice: UtcDateTime | None
    date_due: UtcDateTime | None
    order_total_ex_vat: Money
    order_total_inc_vat: Money
    received_qty_percent: Percent | None = Field(
        description="100 x qty received / qty ordered, one decimal; null when nothing was ordered"
    )
    received_value_ex_vat: Money = Field(description="Goods receipts on the order's lines at line price")
    invoiced_value_ex_vat: Money = Field(description="Of that, receipts already booked on supplier invoices")
    open_to_invoice_ex_vat: Money = Field(description="receivedValueExVat minus invoicedValueExVat")
    currency_iso_code: str


def _receipts(total: sa.ColumnElement[Any], *condition: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    """``total`` summed over the goods receipts on the order's lines."""
    t, i = s.inv_transactions, s.order_items
    stmt = sa.select(sa.func.coalesce(sa.func.sum(total), 0)).select_from(
        t.join(i, i.c.Id == t.c.OrderItemId)
    )
    return stmt.where(i.c.OrderId == o.c.Id, *condition).scalar_subquery()


def _cents(amount: sa.ColumnElement[Any]) -> sa.ColumnElement[Decimal]:
    return sa.type_coerce(sa.func.round(amount, 2), CENTS)


def received_value() -> sa.ColumnElement[Decimal]:
    t, i = s.inv_transactions, s.order_items
    return _cents(_receipts(t.c.Qty * i.c.Price))


def invoiced_value() -> sa.ColumnElement[Decimal]:
    t, i = s.inv_transactions, s.order_items
    return _cents(_receipts(t.c.Qty * i.c.Price, t.c.IsBooked.is_(True)))


def open_to_invoice() -> sa.ColumnElement[Decimal]:
    return _cents(received_value() - invoiced_value())


def received_qty() -> sa.ColumnElement[Decimal]:
    return sa.type_coerce(_receipts(s.inv_transactions.c.Qty), QTY)


def ordered_qty() -> sa.ColumnElement[Decimal]:
    i = s.order_items
    ordered = sa.select(sa.func.coalesce(sa.func.sum(i.c.QtyOrdered), 0)).where(i.c.OrderId == o.c.Id)
    return sa.type_coerce(ordered.scalar_subquery(), QTY)


def _purchase_order_filters(conn: sa.Connection, params: PurchaseOrderParams) -> list[sa.ColumnElement[bool]]:
    where = [in_status((PURCHASEORDER,), STATUS_FLAG[params.status_kind], params.status_id)]
    if params.vendor_id is not None:
        where.append(o.c.CompanyId == params.vendor_id)
    if params.vendor_name:
        where.append(company_named(conn, params.vendor_name))
    if params.currency:
        where.append(currency_coded(params.currency))
    where += dated_within(o.c.DateOrder, params.order_date_from, params.order_date_to)
    where += dated_within(o.c.DateDelivery, params.delivery_date_from, params.delivery_date_to)
    where += within(o.c.TotalExVat, params.total_ex_vat_min, params.total_ex_vat_max)
    if params.open_to_invoice_min is not None or params.open_to_invoice_max is not None:
        where += within(open_to_invoice(), params.open_to_invoice_min, params.open_to_invoice_max)
    if params.q:
        where.append(free_text(conn, params.q, o.c.PurchaseNumber))
    return where


def list_purchase_orders(
    conn: sa.Connection, ctx: ViewContext, params: PurchaseOrderParams
) -> Page[PurchaseOrderDto]:
    stmt = header().add_columns(
        o.c.PurchaseNumber,
        received_value().label("ReceivedValue"),
        invoiced_value().label("InvoicedValue"),
        received_qty().label("ReceivedQty"),
        ordered_qty().label("OrderedQty"),
    )
    request = page_request("purchase-orders", params, ctx.tenant)
    where = _purchase_order_filters(conn, params)
    rows, next_cursor = fetch_page(conn, stmt.where(*where), NEWEST_ORDER_FIRST, request)
    return page_of([_purchase_order(row._mapping) for row in rows], next_cursor, request)


def _purchase_order(row: Any) -> PurchaseOrderDto:
    received, invoiced = Decimal(row["ReceivedValue"]), Decimal(row["InvoicedValue"])
    return PurchaseOrderDto(
        id=row["Id"],
        purchase_number=row["PurchaseNumber"],
        vendor_id=row["CompanyId"],
        vendor_name=row["CompanyName"],
        vendor_orgno=row["CompanyOrgno"],
        status_id=row["OrderStatusId"],
        status_name=row["StatusName"],
        date_order=row["DateOrder"],
        date_delivery=row["DateDelivery"],
        date_invoice=row["DateInvoice"],
        date_due=row["DateDue"],
        order_total_ex_vat=row["TotalExVat"],
        order_total_inc_vat=row["TotalIncVat"],
        received_qty_percent=percent(row["ReceivedQty"], row["OrderedQty"]),
        received_value_ex_vat=received,
        invoiced_value_ex_vat=invoiced,
        open_to_invoice_ex_vat=received - invoiced,
        currency_iso_code=row["CurrencyIsoCode"],
    )


register(
    View(
        name="purchase-orders",
        tool="list_purchase_orders",
        method="GET",
        path="/purchase-orders",
        params=PurchaseOrderParams,
        result=Page[PurchaseOrderDto],
        query=list_purchase_orders,
        title="List purchase orders",
        description=(
            "List purchase orders (orders to suppliers), newest order date first (then id). By "
            "default only active ones (statusKind=purchase: ordered or partly delivered; "
            "preliminary, closed and cancelled orders are left out); statusKind=any drops the "
            "status filter; statusId pins one exact status. Each row has the supplier, status, "
            "dates, order totals, and from the goods receipts on its lines: receivedQtyPercent, "
            "receivedValueExVat (received qty at line price), invoicedValueExVat (receipts already "
            "booked on supplier invoices) and openToInvoiceExVat (received, not yet invoiced; "
            "filter it with openToInvoiceMin/openToInvoiceMax, e.g. openToInvoiceMin=0.01 for "
            "orders awaiting a supplier invoice). Use suggest_invoice_matches to match a supplier "
            "invoice to receipts, and list_sales_orders for what customers ordered. Returns at "
            "most pageSize rows (default 50, max 100); when `truncated` is true, call again with "
            "`cursor` set to `nextCursor` and the same filters. Dates are ISO 8601; a date alone "
            "means midnight UTC; ranges include both ends."
        ),
    )
)
