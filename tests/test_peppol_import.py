"""Supplier e-invoices become purchase-invoice drafts: every official EN 16931 example imports
and balances, checked against what the document says (read here with XPath)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.peppol.importer import import_document, retry_parked
from tests.peppol_support import (
    EXAMPLES,
    add_vendor,
    emptied,
    example,
    expected,
    postgres_tenant,
    sqlite_template,
)
from tests.support import cents, postgres_reachable, require_service
from tools import schema as s
from tools.inbound_documents import draft_findings, draft_sources, inbound_documents

d, dl = s.purchase_invoice_drafts, s.purchase_invoice_draft_lines


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with sqlite_template(tmp_path_factory.mktemp("einvoice")) as path:
        yield path


@pytest.fixture(scope="module")
def postgres() -> Iterator[sa.Engine]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_tenant() as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def tenant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty tenant (schema and currencies only) on each backend."""
    if request.param == "postgres":
        yield emptied(request.getfixturevalue("postgres"))
        return
    path = tmp_path / "tenant.db"
    shutil.copy(request.getfixturevalue("template"), path)
    engine = sa.create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def draft_of(engine: sa.Engine, draft_id: int) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(d, s.currencies.c.IsoCode)
            .join(s.currencies, s.currencies.c.Id == d.c.CurrencyId)
            .where(d.c.Id == draft_id)
        ).one()


def lines_of(engine: sa.Engine, draft_id: int) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(dl).where(dl.c.DraftId == draft_id).order_by(dl.c.LineIndex)))


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_official_example_imports_and_balances(tenant: sa.Engine, name: str) -> None:
    want = expected(name)
    vendor_id = add_vendor(tenant, want.seller_org_number)
    result = import_document(tenant, example(name))
    assert (result.state, result.new_draft) == ("imported", True), result.reason
    assert result.draft_id is not None

    sign = Decimal(-1) if want.is_credit else Decimal(1)
    draft = draft_of(tenant, result.draft_id)
    assert (draft.VendorId, draft.InvoiceNumber, draft.IsoCode) == (vendor_id, want.number, want.currency)
    assert draft.DateInvoice.date() == want.issue_date
    assert (draft.DateDue.date() if draft.DateDue else None) == want.due_date
    assert cents(draft.TotalExVat) == sign * want.tax_exclusive

    lines = lines_of(tenant, result.draft_id)
    goods = [line for line in lines if not line.IsExtraCharge]
    charges = [line for line in lines if line.IsExtraCharge]
    assert [cents(line.TotalExVat) for line in goods] == [sign * total for total in want.line_totals]
    assert [line.VendorProductNumber for line in goods] == want.seller_item_ids
    assert [Decimal(str(line.Quantity)) for line in goods] == want.quantities
    assert [cents(line.TotalExVat) for line in charges] == [
        sign * (amount if is_charge else -amount) for is_charge, amount, _ in want.allowances_and_charges
    ]
    assert sum(cents(line.TotalExVat) for line in lines) == sign * want.tax_exclusive


def test_a_credit_note_is_a_credit_draft_with_positive_quantities_and_negative_amounts(
    tenant: sa.Engine,
) -> None:
    want = expected("ubl-tc434-creditnote1.xml")
    add_vendor(tenant, want.seller_org_number)
    result = import_document(tenant, example("ubl-tc434-creditnote1.xml"))
    assert result.draft_id is not None
    (line,) = lines_of(tenant, result.draft_id)
    assert Decimal(str(line.Quantity)) == want.quantities[0] > 0
    assert cents(line.UnitPrice) < 0 and cents(line.TotalExVat) == -want.line_totals[0]
    with tenant.connect() as conn:
        kind = conn.execute(sa.select(draft_sources.c.DocumentType)).scalar_one()
    assert kind == "credit"


def test_document_level_allowances_and_charges_are_extra_charge_lines_named_by_their_reason(
    tenant: sa.Engine,
) -> None:
    want = expected("ubl-tc434-example5.xml")
    add_vendor(tenant, want.seller_org_number)
    result = import_document(tenant, example("ubl-tc434-example5.xml"))
    assert result.draft_id is not None
    charges = [line for line in lines_of(tenant, result.draft_id) if line.IsExtraCharge]
    assert [(line.Description, cents(line.TotalExVat)) for line in charges] == [
        (reason, amount if is_charge else -amount)
        for is_charge, amount, reason in want.allowances_and_charges
    ]
    assert {line.VendorProductNumber for line in charges} == {None}


def test_the_same_document_twice_gives_one_draft(tenant: sa.Engine) -> None:
    add_vendor(tenant, expected("ubl-tc434-example4.xml").seller_org_number)
    first = import_document(tenant, example("ubl-tc434-example4.xml"))
    again = import_document(tenant, example("ubl-tc434-example4.xml"))
    assert (again.state, again.draft_id, again.new_draft) == ("imported", first.draft_id, False)
    assert (count(tenant, d), count(tenant, inbound_documents)) == (1, 1)


def test_the_same_invoice_in_another_file_is_the_same_draft(tenant: sa.Engine) -> None:
    """ubl-tc434-example1 and -example10 are one invoice (same seller, number and amounts)."""
    assert expected("ubl-tc434-example1.xml").number == expected("ubl-tc434-example10.xml").number
    add_vendor(tenant, expected("ubl-tc434-example1.xml").seller_org_number)
    first = import_document(tenant, example("ubl-tc434-example1.xml"))
    second = import_document(tenant, example("ubl-tc434-example10.xml"))
    assert (second.state, second.draft_id, second.new_draft) == ("imported", first.draft_id, False)
    assert second.reason and "same invoice" in second.reason
    assert (count(tenant, d), count(tenant, inbound_documents)) == (1, 2)


def test_an_invoice_number_reused_for_other_amounts_is_parked_for_a_person(tenant: sa.Engine) -> None:
    """ubl-tc434-example3 and guide-example3: same seller and number, different totals."""
    first, other = expected("ubl-tc434-example3.xml"), expected("guide-example3.xml")
    assert (first.number, first.seller_org_number) == (other.number, other.seller_org_number)
    assert first.tax_exclusive != other.tax_exclusive
    add_vendor(tenant, first.seller_org_number)
    assert import_document(tenant, example("ubl-tc434-example3.xml")).state == "imported"
    result = import_document(tenant, example("guide-example3.xml"))
    assert result.state == "parked" and result.draft_id is None
    assert result.reason and first.number in result.reason and "other amounts" in result.reason
    assert count(tenant, d) == 1


def test_an_unknown_vendor_parks_the_document_until_the_vendor_exists(tenant: sa.Engine) -> None:
    want = expected("ubl-tc434-example8.xml")
    parked = import_document(tenant, example("ubl-tc434-example8.xml"))
    assert (parked.state, parked.draft_id) == ("parked", None)
    assert parked.reason and want.seller_org_number in parked.reason
    with tenant.connect() as conn:
        row = conn.execute(sa.select(inbound_documents)).one()
    assert row.InvoiceNumber == want.number and want.seller_org_number in row.SupplierIdentifiers
    assert row.Content == example("ubl-tc434-example8.xml")
    assert count(tenant, d) == 0

    assert retry_parked(tenant)[0].state == "parked"  # still no such vendor
    vendor_id = add_vendor(tenant, want.seller_org_number)
    (retried,) = retry_parked(tenant)
    assert retried.state == "imported" and retried.draft_id is not None
    assert draft_of(tenant, retried.draft_id).VendorId == vendor_id
    assert retry_parked(tenant) == []
    assert import_document(tenant, example("ubl-tc434-example8.xml")).draft_id == retried.draft_id
    assert (count(tenant, d), count(tenant, inbound_documents)) == (1, 1)
    with tenant.connect() as conn:
        assert conn.execute(sa.select(inbound_documents.c.Content)).scalar_one() is None


def test_an_org_number_written_with_a_dash_still_finds_the_vendor(tenant: sa.Engine) -> None:
    want = expected("ubl-tc434-example7.xml")
    assert want.seller_org_number == "5532331183"
    vendor_id = add_vendor(tenant, "553233-1183")
    result = import_document(tenant, example("ubl-tc434-example7.xml"))
    assert result.draft_id is not None and draft_of(tenant, result.draft_id).VendorId == vendor_id


def test_a_swedish_vat_number_finds_the_vendor_by_the_org_number_inside_it(tenant: sa.Engine) -> None:
    document = example("ubl-tc434-example7.xml").replace(
        b"<cbc:ID>5532331183</cbc:ID>", b"<cbc:ID>0000000000</cbc:ID>"
    )
    document = document.replace(
        b"<cac:PartyLegalEntity>",
        b"<cac:PartyTaxScheme><cbc:CompanyID>SE556677889901</cbc:CompanyID>"
        b"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity>",
        1,
    )
    vendor_id = add_vendor(tenant, "556677-8899")
    result = import_document(tenant, document)
    assert result.draft_id is not None, result.reason
    assert draft_of(tenant, result.draft_id).VendorId == vendor_id


def test_a_gtin_on_a_line_finds_our_product_number_by_barcode(tenant: sa.Engine) -> None:
    want = expected("guide-example2.xml")
    add_vendor(tenant, want.seller_org_number)
    with tenant.begin() as conn:
        conn.execute(
            sa.insert(s.products).values(
                Id=1,
                ProductNumber="ART-77",
                Description="x",
                Barcode="1234567890128",
                IsActive=True,
                DefaultPrice=1,
            )
        )
    result = import_document(tenant, example("guide-example2.xml"))
    assert result.draft_id is not None
    first = lines_of(tenant, result.draft_id)[0]
    assert (first.VendorProductNumber, first.ProductNumber) == (want.seller_item_ids[0], "ART-77")


def test_a_document_breaking_a_fatal_rule_is_imported_and_flagged_with_its_findings(
    tenant: sa.Engine,
) -> None:
    """BT-112 (tax-inclusive total) raised by 10.00: BR-CO-15 says BT-112 = BT-109 + BT-110."""
    document = example("ubl-tc434-example1.xml").replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">250.33', b'<cbc:TaxInclusiveAmount currencyID="EUR">260.33'
    )
    add_vendor(tenant, expected("ubl-tc434-example1.xml").seller_org_number)
    result = import_document(tenant, document)
    assert result.state == "imported" and result.draft_id is not None
    assert result.reason and "BR-CO-15" in result.reason
    with tenant.connect() as conn:
        state = conn.execute(sa.select(draft_sources.c.ValidationState)).scalar_one()
        rules = conn.execute(sa.select(draft_findings.c.RuleId, draft_findings.c.Flag)).all()
    assert state == "fatal"
    assert ("BR-CO-15", "fatal") in [tuple(r) for r in rules]


def test_a_valid_document_has_no_findings(tenant: sa.Engine) -> None:
    add_vendor(tenant, expected("ubl-tc434-example2.xml").seller_org_number)
    import_document(tenant, example("ubl-tc434-example2.xml"))
    with tenant.connect() as conn:
        assert conn.execute(sa.select(draft_sources.c.ValidationState)).scalar_one() == "valid"
    assert count(tenant, draft_findings) == 0


def test_concurrent_imports_give_one_draft_per_invoice_and_never_a_clash(tenant: sa.Engine) -> None:
    names = ["ubl-tc434-example1.xml", "ubl-tc434-example4.xml", "ubl-tc434-example7.xml"]
    for name in names:
        add_vendor(tenant, expected(name).seller_org_number)
    documents = [example(name) for name in names] * 3
    barrier = threading.Barrier(len(documents))

    def run(document: bytes) -> int | None:
        barrier.wait(timeout=30)
        return import_document(tenant, document).draft_id

    with ThreadPoolExecutor(len(documents)) as pool:
        drafts = list(pool.map(run, documents))
    assert None not in drafts
    assert [drafts[i] for i in range(len(names))] * 3 == drafts
    assert (count(tenant, d), count(tenant, inbound_documents)) == (len(names), len(names))
