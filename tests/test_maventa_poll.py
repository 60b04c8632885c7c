"""``asstio-mcp sync`` for a Maventa tenant: against a Maventa double on loopback, a poll
imports every received invoice exactly once, also when run twice or killed halfway."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.core.config import SourceSettings
from connectors.core.secrets import Secrets
from connectors.core.worker import SyncPlan, sync_once
from tests.maventa_double import COMPANY_UUID, USER_API_KEY, VENDOR_API_KEY, MaventaDouble, Received
from tests.peppol_support import add_vendor, emptied, example, expected, postgres_tenant, sqlite_template
from tests.support import postgres_reachable, require_service
from tools import schema as s
from tools.inbound_documents import draft_sources, inbound_documents
from tools.source_schema import sync_state

# Official examples with distinct (seller, invoice number); example9's seller is not a vendor.
DOCUMENTS = [
    "ubl-tc434-example1.xml",
    "ubl-tc434-example2.xml",
    "ubl-tc434-example4.xml",
    "ubl-tc434-example5.xml",
    "ubl-tc434-example6.xml",
    "ubl-tc434-example7.xml",
    "ubl-tc434-example8.xml",
    "ubl-tc434-creditnote1.xml",
    "sample-discount-price.xml",
    "ubl-tc434-example9.xml",
]
UNKNOWN_SELLER = "ubl-tc434-example9.xml"
SECRETS = {
    "ASSTIO_SECRET_ACME_COMPANY_UUID": COMPANY_UUID,
    "ASSTIO_SECRET_ACME_USER_API_KEY": USER_API_KEY,
    "ASSTIO_SECRET_ACME_VENDOR_API_KEY": VENDOR_API_KEY,
}


def maventa_id(n: int) -> str:
    return f"c154feee-399b-488e-aecd-{n:012d}"


@pytest.fixture
def double() -> Iterator[MaventaDouble]:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    invoices = [
        Received(
            maventa_id(n), expected(name).number, now - timedelta(hours=len(DOCUMENTS) - n), example(name)
        )
        for n, name in enumerate(DOCUMENTS)
    ]
    with MaventaDouble(invoices) as server:
        yield server


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with sqlite_template(tmp_path_factory.mktemp("maventa")) as path:
        yield path


@pytest.fixture(scope="module")
def postgres() -> Iterator[sa.Engine]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_tenant() as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def tenant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A tenant with a vendor for every document's seller but one, on each backend."""
    if request.param == "postgres":
        engine = emptied(request.getfixturevalue("postgres"))
        with engine.begin() as conn:
            conn.execute(sa.delete(sync_state))
    else:
        shutil.copy(request.getfixturevalue("template"), tmp_path / "acme.db")
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'acme.db'}")
    for name in DOCUMENTS:
        if name != UNKNOWN_SELLER:
            add_vendor(engine, expected(name).seller_org_number)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


def plan(double: MaventaDouble, tenant: sa.Engine, secrets: dict[str, str] = SECRETS) -> SyncPlan:
    source = SourceSettings(kind="maventa", base_url=double.url, per_page=3, rate_limit="100/second")
    return SyncPlan({"acme": source}, {"acme": url_of(tenant)}, Secrets(secrets))


def url_of(tenant: sa.Engine) -> str:
    return tenant.url.render_as_string(hide_password=False)


def poll(double: MaventaDouble, tenant: sa.Engine, secrets: dict[str, str] = SECRETS) -> tuple[bool, str]:
    out = io.StringIO()
    ok = sync_once(plan(double, tenant, secrets), ["acme"], full=False, out=out)
    return ok, out.getvalue()


def inbound(tenant: sa.Engine) -> dict[str, tuple[str, int | None]]:
    with tenant.connect() as conn:
        rows = conn.execute(
            sa.select(inbound_documents.c.ExternalId, inbound_documents.c.State, inbound_documents.c.DraftId)
        ).all()
    assert len(rows) == len({r.ExternalId for r in rows})
    return {r.ExternalId: (r.State, r.DraftId) for r in rows}


def draft_count(tenant: sa.Engine) -> int:
    with tenant.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(s.purchase_invoice_drafts)).scalar_one()
        )


def assert_all_imported_once(double: MaventaDouble, tenant: sa.Engine) -> None:
    records = inbound(tenant)
    assert set(records) == {maventa_id(n) for n in range(len(DOCUMENTS))}
    parked = maventa_id(DOCUMENTS.index(UNKNOWN_SELLER))
    assert records.pop(parked) == ("parked", None)
    assert {state for state, _ in records.values()} == {"imported"}
    assert len({draft for _, draft in records.values()}) == draft_count(tenant) == len(DOCUMENTS) - 1
    with tenant.connect() as conn:
        sources = conn.execute(
            sa.select(draft_sources.c.ExternalId, s.purchase_invoice_drafts.c.InvoiceNumber).join(
                s.purchase_invoice_drafts, s.purchase_invoice_drafts.c.Id == draft_sources.c.DraftId
            )
        ).all()
    numbers = {i.id: i.number for i in double.invoices}
    assert {(r.ExternalId, r.InvoiceNumber) for r in sources} == {(k, numbers[k]) for k in records}
    assert set(double.record.downloads.values()) == {1}


def test_a_poll_imports_every_received_invoice_once(
    double: MaventaDouble, tenant: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ok, out = poll(double, tenant)
    assert ok, out
    assert_all_imported_once(double, tenant)
    (form,) = double.record.token_forms
    assert form["grant_type"] == ["client_credentials"] and form["client_id"] == [COMPANY_UUID]
    assert [q["page"] for q in double.record.list_queries] == [["1"], ["2"], ["3"], ["4"]]
    assert {q["direction"][0] for q in double.record.list_queries} == {"RECEIVED"}
    assert double.record.refused == []
    for secret in SECRETS.values():
        assert secret not in out and secret not in caplog.text


def test_a_second_poll_downloads_nothing_again_and_lists_from_the_cursor_with_overlap(
    double: MaventaDouble, tenant: sa.Engine
) -> None:
    assert poll(double, tenant)[0]
    first_end = double.record.list_queries[-1]["received_at_end"][0]
    assert poll(double, tenant)[0]
    assert_all_imported_once(double, tenant)
    second_start = double.record.list_queries[-1]["received_at_start"][0]
    overlap = datetime.fromisoformat(first_end[:-1]) - datetime.fromisoformat(second_start[:-1])
    assert overlap == timedelta(minutes=60)


def test_a_parked_invoice_is_imported_by_the_next_poll_once_its_vendor_exists(
    double: MaventaDouble, tenant: sa.Engine
) -> None:
    assert poll(double, tenant)[0]
    parked = maventa_id(DOCUMENTS.index(UNKNOWN_SELLER))
    assert inbound(tenant)[parked] == ("parked", None)
    add_vendor(tenant, expected(UNKNOWN_SELLER).seller_org_number)
    assert poll(double, tenant)[0]
    state, draft_id = inbound(tenant)[parked]
    assert state == "imported" and draft_id is not None
    assert draft_count(tenant) == len(DOCUMENTS)
    assert double.record.downloads[parked] == 1


def test_a_poll_killed_halfway_is_finished_by_the_next_and_imports_nothing_twice(
    double: MaventaDouble, tenant: sa.Engine, tmp_path: Path
) -> None:
    config = tmp_path / "asstio.toml"
    config.write_text(
        f'issuers = ["http://127.0.0.1:1"]\naudience = "x"\n[tenants]\nacme = "{url_of(tenant)}"\n'
        f'[sources.acme]\nkind = "maventa"\nbase_url = "{double.url}"\nper_page = 3\n'
        'rate_limit = "100/second"\n'
    )
    double.hold_page = 3
    worker = subprocess.Popen(
        [sys.executable, "-c", "from mcp_server.cli import main; main()", "sync", "--config", str(config)],
        env=os.environ | SECRETS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert double.holding.wait(timeout=120), "the worker never asked for page 3"
        worker.kill()
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert len(inbound(tenant)) == 6  # pages 1 and 2 committed, page 3 never arrived
    double.hold_page = None
    double.release.set()
    assert poll(double, tenant)[0]
    assert_all_imported_once(double, tenant)


def test_refused_credentials_fail_the_poll_with_a_sentence_that_names_no_secret(
    double: MaventaDouble, tenant: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = SECRETS | {"ASSTIO_SECRET_ACME_USER_API_KEY": "wrong-" + USER_API_KEY}
    ok, out = poll(double, tenant, wrong)
    assert not ok
    assert "maventa refused the company credentials" in out
    assert inbound(tenant) == {}
    for secret in wrong.values():
        assert secret not in out and secret not in caplog.text


def test_a_withdrawn_or_unreadable_invoice_is_recorded_as_failed_and_the_rest_imported(
    double: MaventaDouble, tenant: sa.Engine
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    double.invoices += [
        Received("withdrawn-1", "W1", now - timedelta(minutes=5), None),
        Received("scanned-pdf-1", "P1", now - timedelta(minutes=4), b"%PDF-1.7 not an e-invoice"),
    ]
    ok, out = poll(double, tenant)
    assert ok, out
    records = inbound(tenant)
    assert records.pop("withdrawn-1") == ("failed", None)
    assert records.pop("scanned-pdf-1") == ("failed", None)
    with tenant.connect() as conn:
        reasons = dict(
            conn.execute(
                sa.select(inbound_documents.c.ExternalId, inbound_documents.c.Reason).where(
                    inbound_documents.c.State == "failed"
                )
            ).all()
        )
    assert "404" in reasons["withdrawn-1"] and "not well-formed XML" in reasons["scanned-pdf-1"]
    assert len(records) == len(DOCUMENTS) and draft_count(tenant) == len(DOCUMENTS) - 1
