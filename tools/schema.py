"""The ERP's own tables, as the ERP keeps them (SQLAlchemy 2 Core).

Sales orders, sales invoices, sales credits and purchase orders are all rows of ``Orders``;
what a row is comes from its ``OrderStatus`` and that status's ``OrderStatusType.SystemName``.
Every index here serves a filter or the default sort order of a view.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Money = sa.Numeric(18, 2)
Qty = sa.Numeric(18, 3)
Rate = sa.Numeric(18, 6)


def _id() -> sa.Column[int]:
    return sa.Column("Id", sa.Integer, primary_key=True, autoincrement=False)


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), nullable=nullable)


# -- reference tables -------------------------------------------------------------------

currencies = sa.Table(
    "Currency",
    metadata,
    _id(),
    sa.Column("IsoCode", sa.String(3), nullable=False, unique=True),
    sa.Column("Name", sa.String(60), nullable=False),
    sa.Column("RateToSek", Rate, nullable=False),
)

payment_terms = sa.Table(
    "PaymentTerm",
    metadata,
    _id(),
    sa.Column("Name", sa.String(80), nullable=False),
    sa.Column("Days", sa.Integer, nullable=False),
)

delivery_terms = sa.Table("DeliveryTerm", metadata, _id(), sa.Column("Name", sa.String(80), nullable=False))

price_lists = sa.Table("PriceList", metadata, _id(), sa.Column("Name", sa.String(80), nullable=False))

vat_types = sa.Table(
    "VatType",
    metadata,
    _id(),
    sa.Column("Name", sa.String(80), nullable=False),
    sa.Column("Rate", sa.Numeric(5, 4), nullable=False),
)

order_status_types = sa.Table(
    "OrderStatusType",
    metadata,
    _id(),
    sa.Column("SystemName", sa.String(30), nullable=False, unique=True),
    sa.Column("Name", sa.String(80), nullable=False),
)

order_statuses = sa.Table(
    "OrderStatus",
    metadata,
    _id(),
    _fk("OrderStatusTypeId", "OrderStatusType.Id"),
    sa.Column("Name", sa.String(80), nullable=False),
    sa.Column("IsOrderIntake", sa.Boolean, nullable=False, default=False),
    sa.Column("IsSales", sa.Boolean, nullable=False, default=False),
    sa.Column("IsPurchase", sa.Boolean, nullable=False, default=False),
)

# -- parties and things -----------------------------------------------------------------

companies = sa.Table(
    "Company",
    metadata,
    _id(),
    sa.Column("ContactNumber", sa.Integer, nullable=False),
    sa.Column("Name", sa.String(200), nullable=False),
    sa.Column("Orgno", sa.String(20), nullable=True),
    sa.Column("IsCustomer", sa.Boolean, nullable=False),
    sa.Column("IsVendor", sa.Boolean, nullable=False),
    sa.Column("Inactive", sa.Boolean, nullable=False, default=False),
    sa.Column("CreditLimit", Money, nullable=True),
    sa.Column("CreditStop", sa.Boolean, nullable=False, default=False),
    _fk("PaymentTermId", "PaymentTerm.Id", nullable=True),
    _fk("DeliveryTermId", "DeliveryTerm.Id", nullable=True),
    _fk("PriceListId", "PriceList.Id", nullable=True),
    _fk("CurrencyId", "Currency.Id", nullable=True),
    _fk("VatTypeId", "VatType.Id", nullable=True),
    sa.Index("ix_company_customer_name", "IsCustomer", "Name", "Id"),
    sa.Index("ix_company_vendor_name", "IsVendor", "Name", "Id"),
    sa.Index("ix_company_orgno", "Orgno"),
)

products = sa.Table(
    "Product",
    metadata,
    _id(),
    sa.Column("ProductNumber", sa.String(40), nullable=False, unique=True),
    sa.Column("Description", sa.String(200), nullable=False),
    sa.Column("Barcode", sa.String(40), nullable=True),
    sa.Column("IsActive", sa.Boolean, nullable=False, default=True),
    sa.Column("DefaultPrice", Money, nullable=False),
    sa.Index("ix_product_barcode", "Barcode"),
)

warehouses = sa.Table("Warehouse", metadata, _id(), sa.Column("Name", sa.String(80), nullable=False))

warehouse_locations = sa.Table(
    "WarehouseLocation",
    metadata,
    _id(),
    _fk("WarehouseId", "Warehouse.Id"),
    sa.Column("Name", sa.String(40), nullable=False),
)

product_stock = sa.Table(
    "ProductStock",
    metadata,
    _id(),
    _fk("ProductId", "Product.Id"),
    _fk("WarehouseLocationId", "WarehouseLocation.Id"),
    _fk("WarehouseId", "Warehouse.Id"),
    sa.Column("QtyInStock", Qty, nullable=False),
    sa.Column("QtyIncoming", Qty, nullable=False),
    sa.Column("QtyOutgoing", Qty, nullable=False),
    sa.UniqueConstraint("ProductId", "WarehouseId", "WarehouseLocationId", name="uq_stock_place"),
    sa.Index("ix_stock_warehouse", "WarehouseId", "ProductId", "WarehouseLocationId"),
    sa.Index("ix_stock_location", "WarehouseLocationId", "ProductId"),
)

supplier_prices = sa.Table(
    "SupplierPrice",
    metadata,
    _id(),
    _fk("ProductId", "Product.Id"),
    _fk("SupplierId", "Company.Id"),
    sa.Column("SupplierProductNumber", sa.String(40), nullable=True),
    sa.Column("Price", Money, nullable=False),
    _fk("CurrencyId", "Currency.Id"),
    sa.Column("LeadTimeDays", sa.Integer, nullable=True),
    sa.Column("ValidFrom", sa.DateTime, nullable=True),
    sa.Column("ValidTo", sa.DateTime, nullable=True),
    sa.Index("ix_supplier_price_product", "ProductId", "Price", "Id"),
    sa.Index("ix_supplier_price_supplier", "SupplierId", "ProductId"),
)

# -- documents --------------------------------------------------------------------------

orders = sa.Table(
    "Orders",
    metadata,
    _id(),
    _fk("OrderStatusId", "OrderStatus.Id"),
    _fk("CompanyId", "Company.Id"),
    sa.Column("Name", sa.String(200), nullable=True),
    sa.Column("PurchaseNumber", sa.Integer, nullable=True),
    sa.Column("InvoiceNumber", sa.Integer, nullable=True),
    sa.Column("DateOrder", sa.DateTime, nullable=False),
    sa.Column("DateDelivery", sa.DateTime, nullable=False),
    sa.Column("DateInvoice", sa.DateTime, nullable=True),
    sa.Column("DateDue", sa.DateTime, nullable=True),
    _fk("CurrencyId", "Currency.Id"),
    sa.Column("TotalExVat", Money, nullable=False),
    sa.Column("TotalVat", Money, nullable=False),
    sa.Column("TotalIncVat", Money, nullable=False),
    _fk("CreditOfOrderId", "Orders.Id", nullable=True),
    # The sum of the document's payments, kept by triggers on Payment (tools/balances.py).
    sa.Column("PaidAmount", Money, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_orders_status_date_order", "OrderStatusId", "DateOrder", "Id"),
    sa.Index("ix_orders_status_date_invoice", "OrderStatusId", "DateInvoice", "Id"),
    sa.Index("ix_orders_date_order", "DateOrder", "Id"),
    sa.Index("ix_orders_date_invoice", "DateInvoice", "Id"),
    sa.Index("ix_orders_company_date_order", "CompanyId", "DateOrder", "Id"),
    sa.Index("ix_orders_company_date_invoice", "CompanyId", "DateInvoice", "Id"),
    sa.Index("ix_orders_date_delivery", "DateDelivery", "Id"),
    sa.Index("ix_orders_date_due", "DateDue", "Id"),
    sa.Index("ix_orders_invoice_number", "InvoiceNumber"),
    sa.Index("ix_orders_purchase_number", "PurchaseNumber"),
    sa.Index("ix_orders_total_ex_vat", "TotalExVat", "Id"),
    # A customer's documents by status: openOrderCount, orderCount and overdueOrderSum per row.
    sa.Index("ix_orders_company_status", "CompanyId", "OrderStatusId"),
    # Sales summaries over lines (groupBy=product) on SQLite: the range's invoices with their
    # status and currency from this index alone (the rowid is the Id). PostgreSQL's planner
    # reads the range's documents by a parallel scan instead, so it does not get it.
    sa.Index("ix_orders_date_invoice_lines", "DateInvoice", "OrderStatusId", "CurrencyId").ddl_if(
        dialect="sqlite"
    ),
    # Documents not fully paid (every sales order, and the few open invoices): receivables and
    # what customers owe read the open invoices of a status from this index alone.
    sa.Index(
        "ix_orders_open",
        "OrderStatusId",
        "CompanyId",
        "CurrencyId",
        "DateDue",
        "TotalIncVat",
        "PaidAmount",
        sqlite_where=sa.text('"PaidAmount" < "TotalIncVat"'),
        postgresql_where=sa.text('"PaidAmount" < "TotalIncVat"'),
    ),
)

order_items = sa.Table(
    "OrderItem",
    metadata,
    _id(),
    _fk("OrderId", "Orders.Id"),
    sa.Column("LineNo", sa.Integer, nullable=False),
    _fk("ProductId", "Product.Id", nullable=True),
    sa.Column("Description", sa.String(200), nullable=False),
    sa.Column("VendorProductNumber", sa.String(40), nullable=True),
    sa.Column("QtyOrdered", Qty, nullable=False),
    sa.Column("QtyDelivered", Qty, nullable=False),
    sa.Column("Price", Money, nullable=False),
    sa.Column("Discount", sa.Numeric(5, 2), nullable=False, default=0),
    sa.Column("VatRate", sa.Numeric(5, 4), nullable=False),
    sa.Column("SumExVat", Money, nullable=False),
    sa.Column("SumIncVat", Money, nullable=False),
    sa.Index("ix_order_item_order", "OrderId", "LineNo"),
    sa.Index("ix_order_item_product", "ProductId", "OrderId"),
    # A document's lines with what summaries add up (tools/views/_summaries.py, by lines): the
    # join reads these index pages only, never the line rows (SQLite; see ix_orders_date_invoice_lines).
    sa.Index("ix_order_item_figures", "OrderId", "ProductId", "QtyOrdered", "SumExVat").ddl_if(
        dialect="sqlite"
    ),
    # Lines with something left to deliver: a small slice of all lines, asked for per order.
    sa.Index(
        "ix_order_item_open",
        "OrderId",
        sqlite_where=sa.text('"QtyDelivered" < "QtyOrdered"'),
        postgresql_where=sa.text('"QtyDelivered" < "QtyOrdered"'),
    ),
)

# What the summaries add up from the lines, per month: kept by triggers on OrderItem and Orders
# (tools/line_months.py). One row per (date column, month of that date, product, currency,
# status) with the lines' SumExVat and QtyOrdered summed and the documents having such a line
# counted; ProductId 0 stands for lines without a product, -1 for every line of the documents.
# A row whose last line left stays with Documents 0 (the summaries skip it; no delete per write).
order_item_months = sa.Table(
    "OrderItemMonth",
    metadata,
    sa.Column("DateColumn", sa.String(16), primary_key=True),  # DateInvoice or DateOrder
    sa.Column("Month", sa.Date, primary_key=True),
    sa.Column("ProductId", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CurrencyId", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("OrderStatusId", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("Amount", Money, nullable=False),
    sa.Column("Quantity", Qty, nullable=False),
    sa.Column("Documents", sa.Integer, nullable=False),
    # One product's months, and the documents' totals (ProductId -1), without the other products.
    sa.Index("ix_order_item_month_product", "DateColumn", "ProductId", "Month"),
    sqlite_with_rowid=False,
)

payments = sa.Table(
    "Payment",
    metadata,
    _id(),
    _fk("OrderId", "Orders.Id"),
    sa.Column("Amount", Money, nullable=False),
    sa.Column("DatePaid", sa.DateTime, nullable=False),
    # Covering: what an order has been paid is summed from the index alone (open-amount filters).
    sa.Index("ix_payment_order", "OrderId", "Amount"),
    sa.Index("ix_payment_amount", "Amount"),  # is any payment a refund (negative)?
)

# Goods receipts: inventory transactions on purchase-order lines.
inv_transactions = sa.Table(
    "InvTransaction",
    metadata,
    _id(),
    _fk("OrderItemId", "OrderItem.Id"),
    _fk("ProductId", "Product.Id"),
    _fk("WarehouseLocationId", "WarehouseLocation.Id", nullable=True),
    sa.Column("Qty", Qty, nullable=False),
    sa.Column("UnitPriceSek", sa.Numeric(18, 4), nullable=False),
    sa.Column("DateTransaction", sa.DateTime, nullable=False),
    sa.Column("IsBooked", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_inv_transaction_item", "OrderItemId", "IsBooked"),
    sa.Index("ix_inv_transaction_product", "ProductId", "DateTransaction"),
)

# -- purchase-invoice drafts and 3-way matching -----------------------------------------

purchase_invoice_drafts = sa.Table(
    "PurchaseInvoiceDraft",
    metadata,
    _id(),
    _fk("VendorId", "Company.Id"),
    sa.Column("InvoiceNumber", sa.String(40), nullable=False),
    sa.Column("DateInvoice", sa.DateTime, nullable=False),
    sa.Column("DateDue", sa.DateTime, nullable=True),
    _fk("CurrencyId", "Currency.Id"),
    sa.Column("TotalExVat", Money, nullable=False),
    sa.Column("TotalVat", Money, nullable=False),
    sa.Column("TotalIncVat", Money, nullable=False),
    sa.Column("CreatedAt", sa.DateTime, nullable=False),
    sa.Index("ix_pi_draft_date", "DateInvoice", "Id"),
    sa.Index("ix_pi_draft_vendor", "VendorId", "DateInvoice", "Id"),
)

purchase_invoice_draft_lines = sa.Table(
    "PurchaseInvoiceDraftLine",
    metadata,
    _id(),
    _fk("DraftId", "PurchaseInvoiceDraft.Id"),
    sa.Column("LineIndex", sa.Integer, nullable=False),
    sa.Column("VendorProductNumber", sa.String(40), nullable=True),
    sa.Column("ProductNumber", sa.String(40), nullable=True),
    sa.Column("Description", sa.String(200), nullable=False),
    sa.Column("Quantity", Qty, nullable=False),
    sa.Column("UnitPrice", sa.Numeric(18, 4), nullable=False),
    sa.Column("TotalExVat", Money, nullable=False),
    sa.Column("IsExtraCharge", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("DraftId", "LineIndex", name="uq_pi_draft_line"),
)

# Confirmed (invoice line -> receipt) pairs. A receipt can be claimed by one draft line only.
purchase_invoice_matches = sa.Table(
    "PurchaseInvoiceMatch",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=True),
    _fk("DraftId", "PurchaseInvoiceDraft.Id"),
    sa.Column("LineIndex", sa.Integer, nullable=False),
    _fk("OrderItemId", "OrderItem.Id"),
    _fk("InvTransactionId", "InvTransaction.Id"),
    sa.Column("CreatedAt", sa.DateTime, nullable=False),
    sa.UniqueConstraint("InvTransactionId", name="uq_pi_match_receipt"),
    sa.Index("ix_pi_match_draft", "DraftId", "LineIndex"),
)

from tools import balances as balances  # noqa: E402  (triggers that keep Orders.PaidAmount)
from tools import inbound_documents as _inbound_documents  # noqa: E402, F401  (received e-invoices)
from tools import payables_schema as payables_schema  # noqa: E402  (supplier invoices and payments)
from tools import search_tables  # noqa: E402, F401  (the search tables share this MetaData)
from tools import source_schema as source_schema  # noqa: E402  (connector bookkeeping tables)
