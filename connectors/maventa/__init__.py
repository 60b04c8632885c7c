"""Maventa AutoInvoice: received supplier e-invoices polled by ``asstio-mcp sync`` and imported
as purchase-invoice drafts (``kind = "maventa"`` under ``[sources.<tenant>]``)."""
