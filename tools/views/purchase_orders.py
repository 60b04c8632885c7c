"""Purchase orders: ``GET /purchase-orders``, PURCHASEORDER documents with what was received and
what of it the supplier has invoiced (goods receipts on the order's lines)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.paging import Page, Paging, TrustedPage, read_trusted_page
from tools.reference import PURCHASEORDER
from tools.statuses import Flag
from tools.view import View, ViewContext, register
from tools.views._documents import (
    CENTS,
    NEWEST_ORDER_FIRST,
    QTY,
    OrderDates,
    Percent,
    VendorFilter,
    document_values,
    header,
    in_status,
    orders,
    percent,
    statement_key,
    text_apart,
    within,
)
from tools.wire import Money, UtcDateTime, WireModel

StatusKind = Literal["purchase", "any"]
STATUS_FLAG: dict[StatusKind, Flag | None] = {"purchase": "IsPurchase", "any": None}


class PurchaseOrderParams(VendorFilter, OrderDates):
    number = orders.c.PurchaseNumber

    status_kind: StatusKind = Field(
        "purchase",
        description="Which statuses count: purchase (default, active: ordered or partly delivered) or any",
    )
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

    def statuses(self, conn: sa.Connection) -> sa.ColumnElement[bool]:
        return in_status(conn, (PURCHASEORDER,), STATUS_FLAG[self.status_kind], self.status_id)

    def where(self, conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
        where = super().where(conn) + within(
            orders.c.TotalExVat, self.total_ex_vat_min, self.total_ex_vat_max
        )
        if self.open_to_invoice_min is not None or self.open_to_invoice_max is not None:
            where += within(open_to_invoice(), self.open_to_invoice_min, self.open_to_invoice_max)
        return where


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
    received_value_ex_vat: Money = Field(
        description="Goods receipts on the order's lines at the line's price after its discount"
    )
    invoiced_value_ex_vat: Money = Field(description="Of that, receipts already booked on supplier invoices")
    open_to_invoice_ex_vat: Money = Field(description="receivedValueExVat minus invoicedValueExVat")
    currency_iso_code: str


def _receipts(total: sa.ColumnElement[Any], *condition: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    """``total`` summed over the goods receipts on the order's lines."""
    t, i = s.inv_transactions, s.order_items
    stmt = sa.select(sa.func.coalesce(sa.func.sum(total), 0)).select_from(
        t.join(i, i.c.Id == t.c.OrderItemId)
    )
    return stmt.where(i.c.OrderId == orders.c.Id, *condition).scalar_subquery()


def _cents(amount: sa.ColumnElement[Any]) -> sa.ColumnElement[Decimal]:
    return sa.type_coerce(sa.func.round(amount, 2), CENTS)


def _receipt_value() -> sa.ColumnElement[Any]:
    """A receipt's qty at its line's net price: the line's discount (percent) honoured."""
    t, i = s.inv_transactions, s.order_items
    return t.c.Qty * i.c.Price * (100 - i.c.Discount) / 100


def received_value() -> sa.ColumnElement[Decimal]:
    return _cents(_receipts(_receipt_value()))


def invoiced_value() -> sa.ColumnElement[Decimal]:
    return _cents(_receipts(_receipt_value(), s.inv_transactions.c.IsBooked.is_(True)))


def open_to_invoice() -> sa.ColumnElement[Decimal]:
    return _cents(received_value() - invoiced_value())


def received_qty() -> sa.ColumnElement[Decimal]:
    return sa.type_coerce(_receipts(s.inv_transactions.c.Qty), QTY)


def ordered_qty() -> sa.ColumnElement[Decimal]:
    i = s.order_items
    ordered = sa.select(sa.func.coalesce(sa.func.sum(i.c.QtyOrdered), 0)).where(i.c.OrderId == orders.c.Id)
    return sa.type_coerce(ordered.scalar_subquery(), QTY)


def list_purchase_orders(
    conn: sa.Connection, ctx: ViewContext, params: PurchaseOrderParams
) -> TrustedPage[PurchaseOrderDto]:
    built, text = text_apart(conn, params)

    def statement() -> sa.Select[Any]:
        stmt = header("vendor").add_columns(
            orders.c.PurchaseNumber.label("purchase_number"),
            received_value().label("received_value"),
            invoiced_value().label("invoiced_value"),
            received_qty().label("received_qty"),
            ordered_qty().label("ordered_qty"),
        )
        return stmt.where(*built.where(conn))

    key = statement_key(conn, "purchase-orders", built)
    return read_trusted_page(
        conn, statement, NEWEST_ORDER_FIRST, ctx.page, PurchaseOrderDto, _purchase_order, key, text
    )


def _purchase_order(row: Mapping[str, Any]) -> dict[str, Any]:
    received, invoiced = Decimal(row["received_value"]), Decimal(row["invoiced_value"])
    return document_values(
        row,
        order_total_ex_vat=row["total_ex_vat"],
        order_total_inc_vat=row["total_inc_vat"],
        received_qty_percent=percent(row["received_qty"], row["ordered_qty"]),
        received_value_ex_vat=received,
        invoiced_value_ex_vat=invoiced,
        open_to_invoice_ex_vat=received - invoiced,
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
        paging=Paging(default=50, maximum=100),
        title="List purchase orders",
        description=(
            "List purchase orders (orders to suppliers), newest order date first (then id). By "
            "default only active ones (statusKind=purchase: ordered or partly delivered; "
            "preliminary, closed and cancelled orders are left out); statusKind=any drops the "
            "status filter; statusId pins one exact status. Each row has the supplier, status, "
            "dates, order totals, and from the goods receipts on its lines: receivedQtyPercent, "
            "receivedValueExVat (received qty at the line's price after its discount), "
            "invoicedValueExVat (receipts already booked on supplier invoices) and "
            "openToInvoiceExVat (received, not yet invoiced; "
            "filter it with openToInvoiceMin/openToInvoiceMax, e.g. openToInvoiceMin=0.01 for "
            "orders awaiting a supplier invoice). Use suggest_invoice_matches to match a supplier "
            "invoice to receipts, and list_sales_orders for what customers ordered. Dates are "
            "ISO 8601; a date alone means midnight UTC; ranges include both ends."
        ),
    )
)
