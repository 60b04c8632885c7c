"""Hostile or broken documents are refused with a reason, never crash the importer, reach no
network and leave nothing half-written: no draft, no line, one ``failed`` record saying why."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.peppol.importer import import_document
from connectors.peppol.xml import MAX_DOCUMENT_BYTES
from mcp_server.cli import main
from tests.peppol_support import add_vendor, example, expected, sqlite_template
from tools import schema as s
from tools.inbound_documents import inbound_documents

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>&g;</cbc:ID>
</Invoice>"""


class Hits(BaseHTTPRequestHandler):
    count = 0

    def do_GET(self) -> None:
        type(self).count += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY leak "LEAKED-FROM-THE-NETWORK">')

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[str]:
    """A loopback server that counts requests: an importer that fetches anything is caught."""
    Hits.count = 0
    server = HTTPServer(("127.0.0.1", 0), Hits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with sqlite_template(tmp_path_factory.mktemp("hostile")) as path:
        yield path


@pytest.fixture
def tenant(template: Path, tmp_path: Path) -> Iterator[sa.Engine]:
    shutil.copy(template, tmp_path / "demo.db")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    add_vendor(engine, expected("ubl-tc434-example1.xml").seller_org_number)
    yield engine
    engine.dispose()


def refused(engine: sa.Engine, content: bytes) -> str:
    """Import; the document must be refused with a reason and nothing but its record written."""
    result = import_document(engine, content)
    assert (result.state, result.draft_id) == ("failed", None)
    assert result.reason
    with engine.connect() as conn:
        drafts = conn.execute(sa.select(sa.func.count()).select_from(s.purchase_invoice_drafts)).scalar_one()
        lines = conn.execute(
            sa.select(sa.func.count()).select_from(s.purchase_invoice_draft_lines)
        ).scalar_one()
        record = conn.execute(sa.select(inbound_documents)).one()
    assert (drafts, lines) == (0, 0)
    assert (record.State, record.Reason) == ("failed", result.reason)
    return result.reason


def test_entity_expansion_is_refused_without_expanding(tenant: sa.Engine) -> None:
    started = time.monotonic()
    reason = refused(tenant, BILLION_LAUGHS)
    assert "DTD" in reason
    assert time.monotonic() - started < 10


def test_an_external_entity_is_never_read(tenant: sa.Engine, listener: str) -> None:
    document = example("ubl-tc434-example1.xml").replace(
        b"<Invoice ",
        b'<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/hostname">'
        + f'<!ENTITY remote SYSTEM "{listener}/entity">]>'.encode()
        + b"<Invoice ",
        1,
    )
    document = document.replace(b"<cbc:ID>12115118</cbc:ID>", b"<cbc:ID>&secret;&remote;</cbc:ID>")
    assert "DTD" in refused(tenant, document)
    assert Hits.count == 0
    hostname = Path("/etc/hostname").read_text().strip().encode()
    with tenant.connect() as conn:
        stored = conn.execute(sa.select(inbound_documents.c.Content)).scalar_one()
    assert hostname not in stored


def test_an_external_dtd_is_never_fetched(tenant: sa.Engine, listener: str) -> None:
    document = example("ubl-tc434-example1.xml").replace(
        b"<Invoice ", f'<!DOCTYPE Invoice SYSTEM "{listener}/ubl.dtd"><Invoice '.encode(), 1
    )
    assert "DTD" in refused(tenant, document)
    assert Hits.count == 0


def test_a_document_over_the_size_limit_is_refused(tenant: sa.Engine) -> None:
    padding = b"<!--" + b"x" * (50 * 1024 * 1024) + b"-->"
    document = example("ubl-tc434-example1.xml").replace(b"<Invoice ", padding + b"<Invoice ", 1)
    assert len(document) > MAX_DOCUMENT_BYTES
    reason = refused(tenant, document)
    assert "MB" in reason and "refused" in reason


def test_xml_that_is_not_a_ubl_invoice_is_refused(tenant: sa.Engine) -> None:
    order = b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>'
    assert "not a UBL 2.1 Invoice or CreditNote" in refused(tenant, order)


def test_bytes_that_are_not_xml_are_refused(tenant: sa.Engine) -> None:
    assert "not well-formed XML" in refused(tenant, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj")


@pytest.mark.parametrize(
    ("remove", "term"),
    [
        (b"<cbc:IssueDate>2015-01-09</cbc:IssueDate>", "BT-2"),
        (b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "BT-5"),
        (b'<cbc:TaxExclusiveAmount currencyID="EUR">229.60</cbc:TaxExclusiveAmount>', "BT-109"),
        (b'<cbc:PriceAmount currencyID="EUR">9.95</cbc:PriceAmount>', "BT-146"),
    ],
)
def test_a_ubl_invoice_missing_a_required_term_is_refused_naming_it(
    tenant: sa.Engine, remove: bytes, term: str
) -> None:
    document = example("ubl-tc434-example1.xml")
    assert remove in document
    assert term in refused(tenant, document.replace(remove, b"", 1))


def test_an_amount_that_is_not_a_number_is_refused(tenant: sa.Engine) -> None:
    document = example("ubl-tc434-example1.xml").replace(
        b'<cbc:LineExtensionAmount currencyID="EUR">19.90',
        b'<cbc:LineExtensionAmount currencyID="EUR">NaN',
        1,
    )
    assert "BT-131" in refused(tenant, document)


def test_a_refused_document_sent_again_stays_one_failed_record(tenant: sa.Engine) -> None:
    refused(tenant, b"not xml at all")
    again = import_document(tenant, b"not xml at all")
    assert again.state == "failed"
    with tenant.connect() as conn:
        assert conn.execute(sa.select(inbound_documents.c.Attempts)).scalar_one() == 2


def test_the_import_command_says_what_became_of_each_file(
    tenant: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "invoice.xml"
    good.write_bytes(example("ubl-tc434-example1.xml"))
    bad = tmp_path / "bomb.xml"
    bad.write_bytes(BILLION_LAUGHS)
    with pytest.raises(SystemExit) as exit_:
        main(["import-invoice", str(good), str(bad), "--tenant", "demo", "--data-dir", str(tmp_path)])
    assert exit_.value.code == 1
    out = capsys.readouterr().out.splitlines()
    with tenant.connect() as conn:
        draft_id = conn.execute(sa.select(s.purchase_invoice_drafts.c.Id)).scalar_one()
    assert out[0] == f"{good}: imported as draft {draft_id}"
    assert out[1].startswith(f"{bad}: failed: ") and "DTD" in out[1]

    main(["import-invoice", str(good), "--tenant", "demo", "--data-dir", str(tmp_path)])
    assert capsys.readouterr().out.strip() == f"{good}: imported as draft {draft_id}"


def test_the_import_command_refuses_a_large_file_before_reading_it(
    tenant: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(SystemExit):
        main(["import-invoice", str(big), "--tenant", "demo", "--data-dir", str(tmp_path)])
    assert "failed: the document is 50.0 MB" in capsys.readouterr().out
