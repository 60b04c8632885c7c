"""The connector core: rate limit, retries, errors, tokens, locks, secrets, streams and cursors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from connectors.core import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectorError,
    IdMap,
    MissingScope,
    Page,
    RateLimited,
    Secrets,
    SourceClient,
    SourceRateLimiter,
    SourceUnavailable,
    Stream,
    SyncLocked,
    Token,
    TokenProvider,
    run_stream,
    tenant_lock,
    upsert,
)
from mcp_server.settings import load_settings
from tests.scripted_http import ScriptedServer, scripted_server
from tests.support import (
    REDIS_URL,
    free_port,
    postgres_database,
    postgres_reachable,
    redis_reachable,
    require_service,
)
from tools.schema import metadata, warehouses
from tools.source_schema import sync_state

OK: tuple[int, dict[str, str], Any] = (200, {}, {"ok": True})


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as server:
        yield server


def client(server_url: str, **options: Any) -> SourceClient:
    limiter = SourceRateLimiter("1000/1 second")
    return SourceClient(server_url, source="test", tenant="t1", limiter=limiter, **options)


def test_a_429_is_retried_after_the_servers_retry_after(server: ScriptedServer) -> None:
    server.answer("/x", (429, {"Retry-After": "1"}, {}), (429, {"Retry-After": "1"}, {}), OK)
    waits: list[float] = []
    source = client(server.url, sleep=lambda s: (waits.append(s), time.sleep(s)))
    assert source.get_json("/x") == {"ok": True}
    assert source.requests == 3 and source.retries == 2
    assert all(wait >= 1.0 for wait in waits)


def test_a_source_that_keeps_failing_raises_after_the_last_attempt(server: ScriptedServer) -> None:
    server.answer("/x", (503, {}, {"ErrorInformation": {"message": "down"}}))
    source = client(server.url, attempts=3, sleep=lambda _: None)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        source.get_json("/x")
    assert source.requests == 3


@pytest.mark.parametrize(("status", "error"), [(401, AuthenticationFailed), (403, MissingScope)])
def test_credentials_and_scope_errors_are_not_retried(
    server: ScriptedServer, status: int, error: type
) -> None:
    server.answer("/x", (status, {}, {}))
    source = client(server.url, sleep=lambda _: None)
    with pytest.raises(error):
        source.get_json("/x")
    assert source.requests == 1


def test_an_unreachable_source_is_one_error_naming_it() -> None:
    source = client(f"http://127.0.0.1:{free_port()}", attempts=2, sleep=lambda _: None)
    with pytest.raises(SourceUnavailable, match="unreachable"):
        source.get_json("/x")


class CountingTokens(TokenProvider):
    def __init__(self) -> None:
        super().__init__()
        self.issued = 0

    def fetch_token(self) -> Token:
        self.issued += 1
        return Token(f"token-{self.issued}", time.time() + 3600)


def test_a_token_rejected_in_flight_is_renewed_once(server: ScriptedServer) -> None:
    server.answer("/x", (401, {}, {}), OK)
    tokens = CountingTokens()
    assert client(server.url, auth=tokens).get_json("/x") == {"ok": True}
    assert [headers["Authorization"] for _, headers in server.seen] == ["Bearer token-1", "Bearer token-2"]


def test_a_token_refused_even_when_fresh_is_an_authentication_failure(server: ScriptedServer) -> None:
    server.answer("/x", (401, {}, {}))
    with pytest.raises(AuthenticationFailed):
        client(server.url, auth=CountingTokens()).get_json("/x")


def test_the_moving_window_never_admits_more_than_the_rate() -> None:
    limiter = SourceRateLimiter("5/1 second")
    stamps = []
    for _ in range(12):
        limiter.acquire("src", "t1")
        stamps.append(time.monotonic())
    assert max(sum(1 for s in stamps if start <= s < start + 0.99) for start in stamps) <= 5
    assert stamps[-1] - stamps[0] >= 2.0


def test_a_limiter_gives_up_after_its_bounded_wait() -> None:
    limiter = SourceRateLimiter("1/10 seconds", max_wait=0.3)
    limiter.acquire("src", "t1")
    with pytest.raises(RateLimited):
        limiter.acquire("src", "t1")
    limiter.acquire("src", "t2")  # another tenant has a budget of its own


@pytest.mark.redis
def test_two_workers_on_one_redis_share_one_budget() -> None:
    require_service("Redis (127.0.0.1:6379)", redis_reachable())
    tenant = uuid.uuid4().hex
    first, second = SourceRateLimiter("4/2 seconds", REDIS_URL), SourceRateLimiter("4/2 seconds", REDIS_URL)
    stamps = []
    for limiter in (first, second) * 4:
        limiter.acquire("src", tenant)
        stamps.append(time.monotonic())
    assert max(sum(1 for s in stamps if start <= s < start + 1.9) for start in stamps) <= 4


def test_a_tenant_is_synced_by_one_worker_at_a_time_on_sqlite(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    with tenant_lock(engine, "acme"), pytest.raises(SyncLocked), tenant_lock(engine, "acme"):
        pass
    with tenant_lock(engine, "acme"):
        pass


@pytest.mark.postgres
def test_a_tenant_is_synced_by_one_worker_at_a_time_on_postgresql() -> None:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("lock") as url:
        first, second = sa.create_engine(url), sa.create_engine(url)
        with tenant_lock(first, "acme"), pytest.raises(SyncLocked), tenant_lock(second, "acme"):
            pass
        with tenant_lock(second, "acme"):
            pass
        first.dispose()
        second.dispose()


def test_secrets_come_from_the_environment_before_the_file(tmp_path: Path) -> None:
    file = tmp_path / "secrets"
    file.write_text("ASSTIO_SECRET_ACME_B_CLIENT_SECRET=from-file\nASSTIO_SECRET_ACME_B_OTHER=also-file\n")
    file.chmod(0o600)
    secrets = Secrets.load(env={"ASSTIO_SECRET_ACME_B_CLIENT_SECRET": "from-env"}, file=file)
    assert secrets.get("acme-b", "client_secret") == "from-env"
    assert secrets.get("acme-b", "other") == "also-file"
    assert "from-env" not in repr(secrets)
    with pytest.raises(ConfigurationError, match="ASSTIO_SECRET_ACME_B_MISSING"):
        secrets.get("acme-b", "missing")


def test_a_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "secrets"
    file.write_text("ASSTIO_SECRET_ACME_CLIENT_SECRET=x\n")
    file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        Secrets.load(env={}, file=file)


def test_a_secret_in_the_config_file_stops_start_up(tmp_path: Path) -> None:
    config = tmp_path / "asstio.toml"
    config.write_text(
        'issuers = ["https://i"]\naudience = "a"\n[tenants]\nacme = "sqlite:///x.db"\n'
        '[sources.acme]\nkind = "fortnox"\nclient_secret = "s3cret"\n'
    )
    with pytest.raises(SystemExit, match="ASSTIO_SECRET_<TENANT>_CLIENT_SECRET") as stopped:
        load_settings(config, env={})
    assert "s3cret" not in str(stopped.value)


def test_sources_must_name_configured_tenants(tmp_path: Path) -> None:
    config = tmp_path / "asstio.toml"
    config.write_text(
        'issuers = ["https://i"]\naudience = "a"\n[tenants]\nacme = "sqlite:///x.db"\n'
        '[sources.other]\nkind = "fortnox"\n'
    )
    with pytest.raises(SystemExit, match="other"):
        load_settings(config, env={})


class Warehouses(Stream):
    """Pages of (external id, name), failing at page ``fail_at`` while that is set."""

    name: ClassVar[str] = "warehouses"

    def __init__(self, pages: list[list[tuple[str, str]]], fail_at: int | None = None) -> None:
        self.source_pages, self.fail_at, self.fetched = pages, fail_at, []

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        start = 0 if cursor is None or full else int(cursor)
        for number in range(start, len(self.source_pages)):
            self.fetched.append(number)
            yield Page(self.source_pages[number], str(number + 1))

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        local = ids.assign("warehouse", warehouses, [external for external, _ in page.records])
        upsert(conn, warehouses, [{"Id": local[external], "Name": name} for external, name in page.records])
        if self.fail_at is not None and page.cursor == str(self.fail_at + 1):
            raise SourceUnavailable("the source went away mid-page")


def test_a_page_that_fails_leaves_the_pages_before_it_and_the_cursor_after_them(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    metadata.create_all(engine)
    pages = [[("a", "Alpha"), ("b", "Beta")], [("c", "Gamma"), ("a", "Alpha 2")], [("d", "Delta")]]
    with pytest.raises(ConnectorError):
        run_stream(engine, "test", Warehouses(pages, fail_at=1))
    with engine.connect() as conn:
        assert conn.execute(sa.select(warehouses.c.Name).order_by(warehouses.c.Name)).scalars().all() == [
            "Alpha",
            "Beta",
        ]
        state = conn.execute(sa.select(sync_state)).one()
    assert (state.Cursor, state.LastError) == ("1", "the source went away mid-page")
    resumed = Warehouses(pages)
    assert run_stream(engine, "test", resumed) == 3
    assert resumed.fetched == [1, 2]
    with engine.connect() as conn:
        names = conn.execute(sa.select(warehouses.c.Name).order_by(warehouses.c.Name)).scalars().all()
        state = conn.execute(sa.select(sync_state)).one()
    assert names == ["Alpha 2", "Beta", "Delta", "Gamma"]  # "a" seen twice, written once
    assert state.LastError is None and state.LastSuccessAt is not None and state.Cursor == "3"
