"""Payables: booked supplier invoices and what was paid on them.

Registered on the ERP's ``metadata`` by one import at the end of ``tools/schema.py``. A supplier
invoice is open while ``TotalIncVat`` minus its ``SupplierPayment`` rows (their sum kept in
``PaidAmount`` by triggers, ``tools.balances``) is above zero, and
overdue from the day after ``DateDue`` (the receivables' rules, on the purchase side). The demo
generator books one for most received purchase orders; connectors write the source's own
supplier invoices (Fortnox ``/3/supplierinvoices``, Asperion's purchase invoices).
"""

from __future__ import annotations

import sqlalchemy as sa

from tools.schema import Money, metadata

OPEN = sa.text('"PaidAmount" < "TotalIncVat"')

supplier_invoices = sa.Table(
    "SupplierInvoice",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("SupplierId", sa.Integer, sa.ForeignKey("Company.Id"), nullable=False),
    sa.Column("PurchaseOrderId", sa.Integer, sa.ForeignKey("Orders.Id"), nullable=True),
    sa.Column("InvoiceNumber", sa.String(40), nullable=False),
    sa.Column("DateInvoice", sa.DateTime, nullable=False),
    sa.Column("DateDue", sa.DateTime, nullable=False),
    sa.Column("CurrencyId", sa.Integer, sa.ForeignKey("Currency.Id"), nullable=False),
    sa.Column("TotalExVat", Money, nullable=False),
    sa.Column("TotalVat", Money, nullable=False),
    sa.Column("TotalIncVat", Money, nullable=False),
    # The sum of the invoice's payments, kept by triggers on SupplierPayment (tools/balances.py).
    sa.Column("PaidAmount", Money, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_supplier_invoice_due", "DateDue", "Id"),
    sa.Index("ix_supplier_invoice_date", "DateInvoice", "Id"),
    sa.Index("ix_supplier_invoice_supplier", "SupplierId", "DateDue", "Id"),
    sa.Index("ix_supplier_invoice_number", "InvoiceNumber"),
    # The invoices not fully paid: the open ones in due-date order (list_payables) and, covering,
    # what is open per supplier and currency (get_payables_aging).
    sa.Index("ix_supplier_invoice_open_due", "DateDue", "Id", sqlite_where=OPEN, postgresql_where=OPEN),
    sa.Index(
        "ix_supplier_invoice_open",
        "SupplierId",
        "CurrencyId",
        "DateDue",
        "TotalIncVat",
        "PaidAmount",
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    ),
)

supplier_payments = sa.Table(
    "SupplierPayment",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("SupplierInvoiceId", sa.Integer, sa.ForeignKey("SupplierInvoice.Id"), nullable=False),
    sa.Column("Amount", Money, nullable=False),
    sa.Column("DatePaid", sa.DateTime, nullable=False),
    sa.Index("ix_supplier_payment_invoice", "SupplierInvoiceId"),
)
