"""Syncing a Fortnox tenant: incremental and full runs, crashes, concurrent workers, the rate
limit, tokens and the one-line errors of ``asstio-mcp sync``. Expected values come from the
double's objects and from SQL written here."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from connectors.core import MissingScope, SourceSettings
from connectors.fortnox.source import RATE_LIMIT
from tests.fortnox_double.data import FortnoxData, now
from tests.fortnox_double.server import Credentials, RunningDouble
from tests.fortnox_support import demo_fortnox_data, incoming_of, start_double, sync_config, sync_into
from tests.support import (
    LiveServer,
    file_once_per_run,
    free_port,
    mcp_session,
    once_per_run,
    rest_client,
    start_server,
    walk,
)
from tools.source_schema import source_credentials, sync_state

CLI = [sys.executable, "-m", "mcp_server"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> FortnoxData:
    def make() -> FortnoxData:
        return demo_fortnox_data(tmp_path_factory.mktemp("fortnox-small"), 300, seed=5)

    return once_per_run(tmp_path_factory, "fortnox-small", make)


@pytest.fixture
def fortnox(small_data: FortnoxData) -> Iterator[RunningDouble]:
    running = start_double(copy.deepcopy(small_data))
    yield running
    running.stop()


@pytest.fixture
def tenant_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


@pytest.fixture(scope="module")
def first_sync(small_data: FortnoxData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tenant after a first sync of a double of ``small_data``, made once per run: a test about
    what a later sync does starts from a copy of it (a test about a first sync runs its own)."""

    def write(path: Path) -> None:
        running = start_double(copy.deepcopy(small_data))
        try:
            sync_into(f"sqlite:///{path}", running, tenant="demo")
        finally:
            running.stop()

    return file_once_per_run(tmp_path_factory, "fortnox-small-synced.db", write)


@pytest.fixture
def synced_url(first_sync: Path, tenant_url: str, tmp_path: Path) -> str:
    """``tenant_url``, synced once from the test's own double (which starts as ``small_data``)."""
    shutil.copyfile(first_sync, tmp_path / "demo.db")
    return tenant_url


@pytest.fixture
def served(fortnox: RunningDouble, synced_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "server", {"demo": synced_url})
    yield live
    live.stop()


@pytest.fixture
async def rest(served: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_client(served, "demo") as client:
        yield client


def run_sync(config: Path, secret: str, *extra: str, tenant: str = "demo") -> subprocess.Popen[str]:
    env = os.environ | {f"ASSTIO_SECRET_{tenant.upper()}_CLIENT_SECRET": secret}
    return subprocess.Popen(
        [*CLI, "sync", "--config", str(config), *extra],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {
            t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
            for t in ("Orders", "OrderItem", "Payment", "InvTransaction", "Company", "Product")
        }
    engine.dispose()
    return found


def expected_counts(data: FortnoxData) -> dict[str, int]:
    receipts = sum(len(g["rows"]) for g in data.incoming_goods.values())
    rows = (
        sum(len(o["OrderRows"]) for o in data.orders.values())
        + sum(len(i["InvoiceRows"]) for i in data.invoices.values())
        + sum(len(p["rows"]) for p in data.purchase_orders.values())
    )
    return {
        "Orders": len(data.orders) + len(data.invoices) + len(data.purchase_orders),
        "OrderItem": rows,
        "Payment": len(data.payments),
        "InvTransaction": receipts,
        "Company": len(data.customers) + len(data.suppliers),
        "Product": len(data.articles),
    }


# -- incremental and full ---------------------------------------------------------------------


async def invoice_numbered(rest: httpx.AsyncClient, number: str) -> dict[str, Any]:
    found = (await rest.get("/sales-invoices", params={"q": number, "pageSize": 100})).json()["items"]
    return next(row for row in found if row["invoiceNumber"] == int(number))


async def test_an_edit_in_fortnox_shows_after_the_next_incremental_sync(
    fortnox: RunningDouble, rest: httpx.AsyncClient, tenant_url: str
) -> None:
    data = fortnox.double.data
    sent = [i for i in data.invoices.values() if i["Sent"] and not i["Cancelled"] and i["Credit"] == "false"]
    cancelled, paid = sent[0], sent[1]
    cancelled["Cancelled"] = True
    fortnox.double.touch("invoices", cancelled["DocumentNumber"])
    data.payments["900001"] = {
        "Number": "900001",
        "InvoiceNumber": int(paid["DocumentNumber"]),
        "Amount": 10.5,
        "AmountCurrency": 10.5,
        "Currency": paid["Currency"],
        "PaymentDate": "2026-11-19",
    }
    fortnox.double.touch("payments", "900001")
    before = await invoice_numbered(rest, paid["DocumentNumber"])
    fortnox.double.reset_counts()
    sync_into(tenant_url, fortnox, tenant="demo")
    listed = {row["invoiceNumber"] for row in await walk(rest, "/sales-invoices", pageSize=100)}
    assert int(cancelled["DocumentNumber"]) not in listed
    after = await invoice_numbered(rest, paid["DocumentNumber"])
    assert Decimal(str(after["paidAmount"])) == Decimal(str(before["paidAmount"])) + Decimal("10.5")
    details = sum(
        n for path, n in fortnox.double.requests.items() if path.count("/") == 3 and path.startswith("/3/")
    )
    assert details == 1  # only the edited invoice was fetched again
    assert sum(fortnox.double.requests.values()) < 40


async def incoming_shown(rest: httpx.AsyncClient) -> dict[tuple[str, str], Decimal]:
    rows = await walk(rest, "/warehouse-stock", pageSize=200)
    return {
        (r["productNumber"], r["warehouseName"]): Decimal(str(r["qtyIncoming"]))
        for r in rows
        if r["qtyIncoming"]
    }


async def test_goods_received_in_fortnox_leave_incoming_stock_after_the_next_incremental_sync(
    fortnox: RunningDouble, rest: httpx.AsyncClient, tenant_url: str
) -> None:
    data = fortnox.double.data
    before = await incoming_shown(rest)
    assert before == incoming_of(data)
    po = next(p for p in data.purchase_orders.values() if p["purchaseOrderState"] == "SENT")
    for row in po["rows"]:
        row["receivedQuantity"], row["remainingOrderedQuantity"] = row["orderedQuantity"], 0
    po["purchaseOrderState"] = "RECEIVED"
    po["totalReceivedQuantity"] = sum(row["orderedQuantity"] for row in po["rows"])
    fortnox.double.reset_counts()
    sync_into(tenant_url, fortnox, tenant="demo")
    assert fortnox.double.requests[f"/api/warehouse/purchaseorders-v1/{po['id']}"] == 1
    assert (
        sum(
            n for p, n in fortnox.double.requests.items() if p.startswith("/api/warehouse/purchaseorders-v1/")
        )
        == 1
    )
    after = await incoming_shown(rest)
    assert after == incoming_of(data) != before


async def test_a_tenant_synced_before_incoming_stock_was_kept_gets_it_on_its_next_sync(
    fortnox: RunningDouble, rest: httpx.AsyncClient, tenant_url: str
) -> None:
    engine = sa.create_engine(tenant_url)
    with engine.begin() as conn:  # as an older sync left it: no purchase-order cursor, nothing incoming
        conn.execute(sa.update(sync_state).where(sync_state.c.Stream == "purchaseorders").values(Cursor=None))
        conn.execute(sa.text('UPDATE "ProductStock" SET "QtyIncoming" = 0'))
    engine.dispose()
    assert await incoming_shown(rest) == {}
    fortnox.double.reset_counts()
    sync_into(tenant_url, fortnox, tenant="demo")
    assert await incoming_shown(rest) == incoming_of(fortnox.double.data) != {}
    fetched = [p for p in fortnox.double.requests if p.startswith("/api/warehouse/purchaseorders-v1/")]
    assert len(fetched) == len(fortnox.double.data.purchase_orders)  # every order read once, then no more
    fortnox.double.reset_counts()
    sync_into(tenant_url, fortnox, tenant="demo")
    assert not [p for p in fortnox.double.requests if p.startswith("/api/warehouse/purchaseorders-v1/")]


async def test_a_deletion_in_fortnox_shows_after_a_full_sync(
    fortnox: RunningDouble, rest: httpx.AsyncClient, tenant_url: str
) -> None:
    data = fortnox.double.data
    order = next(o for o in data.orders.values() if not o["Cancelled"])
    del data.orders[order["DocumentNumber"]]
    sync_into(tenant_url, fortnox, tenant="demo")
    rows = await walk(rest, "/sales-orders", pageSize=100)
    assert any(
        r["dateOrder"].startswith(order["OrderDate"]) for r in rows
    )  # still there: nothing said it changed
    before = len(rows)
    sync_into(tenant_url, fortnox, tenant="demo", full=True)
    assert len(await walk(rest, "/sales-orders", pageSize=100)) == before - 1
    assert counts(tenant_url) == expected_counts(data)


# -- crashes and concurrent workers -------------------------------------------------------------


def test_a_worker_killed_mid_page_loses_and_doubles_nothing(
    fortnox: RunningDouble, tenant_url: str, tmp_path: Path
) -> None:
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": tenant_url})
    worker = run_sync(config, fortnox.double.credentials.client_secret)
    killed = threading.Event()

    def kill_in_the_middle_of_a_page(path: str) -> None:
        details = sum(n for p, n in fortnox.double.requests.items() if p.startswith("/3/invoices/"))
        if path.startswith("/3/invoices/") and details >= 75 and not killed.is_set():
            killed.set()
            os.kill(worker.pid, signal.SIGKILL)

    fortnox.double.on_request = kill_in_the_middle_of_a_page
    worker.wait(timeout=300)
    assert killed.is_set() and worker.returncode == -signal.SIGKILL
    fortnox.double.on_request = None
    engine = sa.create_engine(tenant_url)
    with engine.connect() as conn:
        state = conn.execute(
            sa.select(sync_state.c.Cursor).where(sync_state.c.Stream == "invoices")
        ).scalar_one()
    engine.dispose()
    assert '"run_after"' in state  # the first page of invoices committed, the second did not
    again = run_sync(config, fortnox.double.credentials.client_secret)
    assert again.wait(timeout=300) == 0, again.stderr.read() if again.stderr else ""
    assert counts(tenant_url) == expected_counts(fortnox.double.data)


def test_two_workers_started_together_sync_once(
    fortnox: RunningDouble, tenant_url: str, tmp_path: Path
) -> None:
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": tenant_url})
    secret = fortnox.double.credentials.client_secret
    workers = [run_sync(config, secret), run_sync(config, secret)]
    outputs = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert sum("skipped, tenant demo is being synced by another worker" in out for out in outputs) == 1
    details = {p: n for p, n in fortnox.double.requests.items() if p.startswith("/3/invoices/")}
    assert details and set(details.values()) == {1}
    assert counts(tenant_url) == expected_counts(fortnox.double.data)


# -- Fortnox's limits and credentials -----------------------------------------------------------------


def test_the_real_rate_limit_is_kept_and_expiring_tokens_are_renewed(tmp_path: Path) -> None:
    data = demo_fortnox_data(tmp_path, 40, seed=7)
    running = start_double(data, rate=25, token_ttl=36)
    try:
        started = time.monotonic()
        report = sync_into(f"sqlite:///{tmp_path / 'demo.db'}", running, tenant="demo", rate_limit=RATE_LIMIT)
        elapsed = time.monotonic() - started
    finally:
        running.stop()
    stamps = running.double.admitted
    # The double runs in this process, so a page's commit can delay its clock by a fraction of a
    # second and bunch arrivals: the odd 429 happens, and each one is absorbed by a retry.
    assert running.double.statuses[429] <= report.retries
    assert max(sum(1 for s in stamps if start <= s < start + 5.0) for start in stamps) <= 25
    assert report.requests > 100 and report.requests / elapsed <= 5.2
    assert len(running.double.tokens) >= 2  # tokens lasted 36 s and were renewed before they ran out
    assert running.double.statuses[401] == 0
    assert running.double.violations == []


def test_the_double_refuses_requests_beyond_25_in_5_seconds(fortnox: RunningDouble) -> None:
    fortnox.double.rate = 25
    token = httpx.post(
        fortnox.token_url,
        data={"grant_type": "client_credentials"},
        headers={"TenantId": fortnox.double.credentials.tenant_id},
        auth=(fortnox.double.credentials.client_id, fortnox.double.credentials.client_secret),
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(base_url=fortnox.url, headers=headers) as client:
        statuses = [client.get("/3/currencies").status_code for _ in range(30)]
    assert statuses[:25] == [200] * 25 and set(statuses[25:]) == {429}


def one_line_error(config: Path, secret: str) -> tuple[int, str]:
    worker = run_sync(config, secret)
    _, err = worker.communicate(timeout=120)
    return worker.returncode, err.strip()


def test_bad_credentials_are_one_line_and_a_failure(
    fortnox: RunningDouble, tenant_url: str, tmp_path: Path
) -> None:
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": tenant_url})
    code, err = one_line_error(config, "wrong-secret-value")
    assert code == 1 and len(err.splitlines()) == 1
    assert "tenant demo: fortnox refused the credentials" in err and "wrong-secret-value" not in err


def test_an_unreachable_fortnox_is_one_line_and_a_failure(
    fortnox: RunningDouble, tenant_url: str, tmp_path: Path
) -> None:
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": tenant_url})
    config.write_text(config.read_text().replace(fortnox.url, f"http://127.0.0.1:{free_port()}"))
    code, err = one_line_error(config, fortnox.double.credentials.client_secret)
    assert code == 1 and len(err.splitlines()) == 1 and "unreachable" in err


def test_a_missing_scope_is_one_line_and_a_failure(
    fortnox: RunningDouble, tenant_url: str, tmp_path: Path
) -> None:
    fortnox.double.credentials = Credentials(scopes=frozenset({"customer", "currency"}))
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": tenant_url})
    code, err = one_line_error(config, fortnox.double.credentials.client_secret)
    assert code == 1 and len(err.splitlines()) == 1
    assert "lacks the scope" in err and "Missing scope" in err


def test_a_refresh_token_is_rotated_and_stored_encrypted(fortnox: RunningDouble, synced_url: str) -> None:
    first = fortnox.double.issue_refresh_token()
    key = Fernet.generate_key().decode()
    secrets = {"refresh_token": first, "encryption_key": key}
    for _ in range(2):
        fortnox.double.tokens.clear()
        sync_into(synced_url, fortnox, tenant="demo", auth="refresh_token", extra_secrets=secrets)
    assert first not in fortnox.double.refresh_tokens and len(fortnox.double.refresh_tokens) == 1
    (current,) = fortnox.double.refresh_tokens
    engine = sa.create_engine(synced_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(source_credentials.c.Ciphertext)).scalar_one()
    engine.dispose()
    assert current not in stored and Fernet(key.encode()).decrypt(stored.encode()).decode() == current
    assert now() is not None


# -- freshness --------------------------------------------------------------------------------------


def synced_then_refused_a_scope(fortnox: RunningDouble, tenant_url: str, tmp_path: Path) -> LiveServer:
    """A tenant synced once (``synced_url``), then refused by Fortnox for a missing scope, served as
    Fortnox-backed."""
    fortnox.double.credentials = Credentials(scopes=frozenset({"customer", "currency"}))
    with pytest.raises(MissingScope):
        sync_into(tenant_url, fortnox, tenant="demo")
    return start_server(
        tmp_path / "server", {"demo": tenant_url}, sources={"demo": SourceSettings(kind="fortnox")}
    )


def test_readyz_and_metrics_say_when_a_fortnox_tenant_last_synced_and_what_failed(
    fortnox: RunningDouble, synced_url: str, tmp_path: Path
) -> None:
    live = synced_then_refused_a_scope(fortnox, synced_url, tmp_path)
    try:
        ready = httpx.get(live.url + "/readyz").json()
        metrics = httpx.get(live.url + "/metrics").text
    finally:
        live.stop()
    source = ready["sources"]["demo"]
    assert ready["status"] == "ready" and source["kind"] == "fortnox"
    # every stream last succeeded in the first sync, before the failure
    assert source["lastSuccessAt"] == source["streams"]["fortnox/stockpoints"]["lastSuccessAt"]
    assert source["lastSuccessAt"] < source["lastErrorAt"]
    assert "Missing scope warehouse" in source["lastError"]
    assert source["streams"]["fortnox/customers"]["lastSuccessAt"].endswith("Z")
    assert 'asstio_source_last_success_timestamp_seconds{stream="fortnox/orders",tenant="demo"}' in metrics
    assert 'asstio_source_last_error_timestamp_seconds{stream="fortnox/stockpoints",tenant="demo"}' in metrics


def sync_state_rows(url: str) -> list[dict[str, Any]]:
    """The oracle: the sync-state rows, read with SQL, in the profile's wire shape."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                'SELECT "Source", "Stream", "LastSuccessAt", "LastErrorAt", "LastError" '
                'FROM "SyncState" ORDER BY "Source", "Stream"'
            )
        ).all()
    engine.dispose()

    def iso(value: Any) -> str | None:
        return None if value is None else str(value).replace(" ", "T")[:19] + "Z"

    return [
        {
            "source": row[0],
            "stream": row[1],
            "lastSuccessfulSyncAt": iso(row[2]),
            "lastFailedSyncAt": iso(row[3]),
            "lastError": row[4],
        }
        for row in rows
    ]


def seconds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Times to the second (the wire may carry fractions, the oracle reads whole seconds)."""
    trimmed = ("lastSuccessfulSyncAt", "lastFailedSyncAt")
    return [{k: (v[:19] + "Z" if k in trimmed and v else v) for k, v in row.items()} for row in rows]


async def test_the_company_profile_says_per_stream_when_fortnox_last_synced_and_what_failed(
    fortnox: RunningDouble, synced_url: str, tmp_path: Path
) -> None:
    live = synced_then_refused_a_scope(fortnox, synced_url, tmp_path)
    expected = sync_state_rows(synced_url)
    try:
        async with rest_client(live, "demo") as rest:
            by_rest = (await rest.get("/company-profile")).json()["dataFreshness"]["sources"]
        async with mcp_session(live, "demo") as mcp:
            result = await mcp.call_tool("get_company_profile", {})
    finally:
        live.stop()
    assert result.structured_content is not None
    by_mcp = result.structured_content["dataFreshness"]["sources"]
    assert seconds(by_rest) == seconds(by_mcp) == expected
    failed = [row for row in by_rest if row["lastError"]]
    assert failed and all("Missing scope" in row["lastError"] for row in failed)
    assert all(row["lastSuccessfulSyncAt"] for row in by_rest)  # the first sync's success is kept


def test_a_worker_every_n_seconds_syncs_and_stops_on_sigterm(
    fortnox: RunningDouble, synced_url: str, tmp_path: Path
) -> None:
    config = sync_config(tmp_path / "asstio.toml", fortnox, {"demo": synced_url})
    worker = run_sync(config, fortnox.double.credentials.client_secret, "--every", "600")
    assert worker.stderr is not None
    first = worker.stderr.readline()
    assert first.startswith("asstio-mcp sync: tenant demo: ") and "requests" in first
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
