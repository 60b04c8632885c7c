"""Which of the tenant's vendors sent a document: by organisation number or VAT number.

The ERP keeps one organisation number per company (``Company.Orgno``, written as the country
writes it: "556677-8899", "HRB 12345"). Both sides are compared as digits and capital letters
only. A VAT number is tried as it is and as the organisation number inside it: without its
country prefix, and without Norway's "MVA" or Sweden's "01" suffix ("SE556677889901" ->
"5566778899").
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from connectors.peppol.ubl import Supplier
from tools import schema as s
from tools.inbound_documents import normalized_orgno

c = s.companies


def normalize(identifier: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", identifier.upper())


def _from_vat(vat: str) -> list[str]:
    plain = normalize(vat)
    if not re.match(r"^[A-Z]{2}", plain):
        return [plain]
    country, national = plain[:2], plain[2:]
    forms = [plain, national]
    if country == "NO" and national.endswith("MVA"):
        forms.append(national[:-3])
    if country == "SE" and len(national) == 12 and national.endswith("01"):
        forms.append(national[:-2])
    return forms


def candidate_numbers(supplier: Supplier) -> list[str]:
    raw = [supplier.legal_id, *supplier.party_ids, supplier.endpoint[1] if supplier.endpoint else None]
    numbers = [normalize(value) for value in raw if value]
    numbers += _from_vat(supplier.vat_id) if supplier.vat_id else []
    return list(dict.fromkeys(n for n in numbers if len(n) >= 4))


class VendorUnresolved(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def resolve_vendor(conn: sa.Connection, supplier: Supplier) -> int:
    """The active vendor whose organisation number one of the supplier's identifiers carries."""
    numbers = candidate_numbers(supplier)
    if not numbers:
        raise VendorUnresolved("the supplier carries no organisation or VAT number to find the vendor by")
    rows = conn.execute(
        sa.select(c.c.Id, c.c.Name)
        .where(normalized_orgno(c.c.Orgno).in_(numbers), c.c.IsVendor.is_(True), c.c.Inactive.is_(False))
        .order_by(c.c.Id)
    ).all()
    if not rows:
        raise VendorUnresolved(
            f"no active vendor has the supplier's organisation or VAT number ({supplier.described()})"
        )
    if len(rows) > 1:
        which = ", ".join(f"{r.Id} {r.Name}" for r in rows)
        raise VendorUnresolved(f"several vendors carry the supplier's organisation number: {which}")
    return int(rows[0].Id)
