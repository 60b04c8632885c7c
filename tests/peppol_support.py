"""Test support for e-invoices: the vendored official examples, what they say (read with plain
XPath, not by the importer), and empty tenant databases to import them into."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from lxml import etree

from tests.support import postgres_database
from tools import schema as s
from tools.reference import CURRENCIES

EXAMPLES_DIR = Path(__file__).parent / "data" / "peppol"
EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.glob("*.xml"))
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def example(name: str) -> bytes:
    return (EXAMPLES_DIR / name).read_bytes()


@dataclass(frozen=True)
class Expected:
    """What an example document says, read here with XPath."""

    is_credit: bool
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    tax_exclusive: Decimal
    line_totals: list[Decimal]
    seller_item_ids: list[str | None]
    quantities: list[Decimal]
    allowances_and_charges: list[tuple[bool, Decimal, str]]  # (is charge, amount, reason)
    seller_org_number: str  # the first of legal id, party id, VAT id the seller gave


def expected(name: str) -> Expected:
    root = etree.fromstring(example(name))

    def text(node: etree._Element, expr: str) -> str:
        return str(node.xpath(f"normalize-space({expr})", namespaces=NS))

    def optional_date(expr: str) -> date | None:
        value = text(root, expr)
        return date.fromisoformat(value) if value else None

    lines = root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS)
    charges = root.xpath("cac:AllowanceCharge", namespaces=NS)
    seller = root.xpath("cac:AccountingSupplierParty/cac:Party", namespaces=NS)[0]
    ids = [
        text(seller, "cac:PartyLegalEntity/cbc:CompanyID"),
        text(seller, "cac:PartyIdentification/cbc:ID"),
        text(seller, "cac:PartyTaxScheme/cbc:CompanyID"),
    ]
    return Expected(
        is_credit=etree.QName(root).localname == "CreditNote",
        number=text(root, "cbc:ID"),
        issue_date=date.fromisoformat(text(root, "cbc:IssueDate")),
        due_date=optional_date("cbc:DueDate") or optional_date("cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=text(root, "cbc:DocumentCurrencyCode"),
        tax_exclusive=Decimal(text(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")),
        line_totals=[Decimal(text(line, "cbc:LineExtensionAmount")) for line in lines],
        seller_item_ids=[
            text(line, "cac:Item/cac:SellersItemIdentification/cbc:ID") or None for line in lines
        ],
        quantities=[Decimal(text(line, "cbc:InvoicedQuantity | cbc:CreditedQuantity")) for line in lines],
        allowances_and_charges=[
            (
                text(c, "cbc:ChargeIndicator") in ("true", "1"),
                Decimal(text(c, "cbc:Amount")),
                text(c, "cbc:AllowanceChargeReason"),
            )
            for c in charges
        ],
        seller_org_number=next(i for i in ids if i),
    )


def create_reference(engine: sa.Engine) -> None:
    s.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(s.currencies),
            [
                {"Id": c.id, "IsoCode": c.iso_code, "Name": c.name, "RateToSek": c.rate_to_sek}
                for c in CURRENCIES
            ],
        )


def add_vendor(engine: sa.Engine, orgno: str, name: str = "Leverantör AB") -> int:
    with engine.begin() as conn:
        vendor_id = int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(s.companies.c.Id), 0) + 1)).scalar_one()
        )
        conn.execute(
            sa.insert(s.companies).values(
                Id=vendor_id,
                ContactNumber=vendor_id,
                Name=name,
                Orgno=orgno,
                IsCustomer=False,
                IsVendor=True,
                Inactive=False,
                CreditStop=False,
            )
        )
    return vendor_id


# Rows a test may write, children first; emptied between the tests that share a database.
WRITTEN = (
    "PurchaseInvoiceDraftFinding",
    "PurchaseInvoiceDraftSource",
    "InboundDocument",
    "PurchaseInvoiceDraftLine",
    "PurchaseInvoiceDraft",
    "Company",
    "Product",
)


@contextmanager
def sqlite_template(directory: Path) -> Iterator[Path]:
    """An SQLite file with the schema and currencies, to copy for each test (DDL is slow)."""
    path = directory / "template.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    create_reference(engine)
    engine.dispose()
    yield path


@contextmanager
def postgres_tenant() -> Iterator[sa.Engine]:
    with postgres_database("einvoice") as url:
        engine = sa.create_engine(url)
        create_reference(engine)
        yield engine
        engine.dispose()


def emptied(engine: sa.Engine) -> sa.Engine:
    with engine.begin() as conn:
        for name in WRITTEN:
            if name in s.metadata.tables:
                conn.execute(sa.delete(s.metadata.tables[name]))
    return engine
