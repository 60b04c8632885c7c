"""Reading a received document safely: a size limit, no DTD, no entity expansion, no network.

A supplier's XML is untrusted input. libxml2 is told never to resolve entities, load a DTD or
reach the network and to keep its default size guards (``huge_tree`` off); a document that
declares a DTD at all is refused, since UBL never needs one and every entity attack starts with
one. Only the root of a UBL 2.1 Invoice or CreditNote is accepted.
"""

from __future__ import annotations

import re

from lxml import etree

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)
DTD_REFUSED = "the document declares a DTD; UBL invoices never need one (entities refused)"
ROOTS = {f"{{{INVOICE_NS}}}Invoice": "invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "credit"}


class DocumentRefused(Exception):
    """The document cannot become a draft; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def check_size(size: int) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(
            f"the document is {size / 1024 / 1024:.1f} MB; documents over "
            f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB are refused"
        )


def parse_ubl(data: bytes) -> tuple[etree._Element, str]:
    """The root element of a UBL Invoice or CreditNote and its kind (``invoice`` or ``credit``)."""
    check_size(len(data))
    if _declares_dtd(data):
        raise DocumentRefused(DTD_REFUSED)  # before libxml2 reads a single declaration
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DocumentRefused(f"not well-formed XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise DocumentRefused(DTD_REFUSED)
    tag = etree.QName(root).text
    kind = ROOTS.get(tag)
    if kind is None:
        raise DocumentRefused(f"not a UBL 2.1 Invoice or CreditNote: the root element is {tag[:200]}")
    return root, kind


def _declares_dtd(data: bytes) -> bool:
    """Whether a DOCTYPE follows the XML declaration, comments and processing instructions."""
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while match := PROLOG_ITEM.match(data, position):
        position = match.end()
    return data[position:].lstrip().startswith(b"<!DOCTYPE")


def canonical_text(root: etree._Element) -> str:
    """The parsed document as text again (no DTD, nothing external) for the validator."""
    return etree.tostring(root, encoding="unicode")
