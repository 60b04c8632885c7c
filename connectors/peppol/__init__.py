"""Supplier e-invoices (Peppol BIS Billing 3.0 / EN 16931, UBL 2.1) into purchase-invoice drafts.

``importer.import_document`` imports one document; ``cli`` is ``asstio-mcp import-invoice``.
"""
