"""Supplier e-invoices (Peppol BIS Billing 3.0 / EN 16931, UBL 2.1) into purchase-invoice drafts."""

from connectors.peppol.importer import import_document, read_document, retry_parked
from connectors.peppol.store import ImportResult
from connectors.peppol.xml import MAX_DOCUMENT_BYTES, DocumentRefused

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DocumentRefused",
    "ImportResult",
    "import_document",
    "read_document",
    "retry_parked",
]
