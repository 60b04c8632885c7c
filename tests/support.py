"""Test support: seeded tenant databases, a real server on a loopback port, real clients."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import pickle
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import pytest
import sqlalchemy as sa
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

from auth.verifier import JwtVerifier, VerifierConfig
from demo.dev_issuer import KEY_FILE_NAME, DevIssuer
from demo.dev_oauth import dev_oauth_routes
from demo.tenants import DEMO_TENANTS, seed_database
from mcp_server.app import build_app
from mcp_server.settings import Settings

TODAY = date(2026, 11, 20)
TEST_ORDERS = 1500
AUDIENCE = "asstio-demo"
DEMO_HOME_CURRENCY = {tenant.iid: tenant.currency for tenant in DEMO_TENANTS}
PG_ADMIN_URL = os.environ.get("ASSTIO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ASSTIO_TEST_REDIS", "redis://127.0.0.1:6379/0")

# The TLS context each HTTP client builds for itself unless handed one, built once per process:
# building it reads the CA bundle (about 20 ms of CPU), and the suite opens thousands of clients.
httpx_tls = functools.cache(httpx.create_ssl_context)
httpx2_tls = functools.cache(httpx2.create_ssl_context)


# Arguments that exercise each list view on the seeded demo data (ids are found at run time).
SAMPLE_ARGUMENTS: dict[str, list[dict[str, Any]]] = {
    "customers": [{"pageSize": 100}, {"q": "å", "inactive": True}, {"q": "%"}],
    "sales-orders": [{"pageSize": 100}, {"statusKind": "any", "customerName": "ö"}],
    "sales-invoices": [
        {"pageSize": 100},
        {"documentType": "both", "q": "AB"},
        {"isLate": True, "openAmountMin": "100"},
    ],
    "purchase-orders": [{"pageSize": 100}, {"statusKind": "any", "openToInvoiceMin": "1"}],
    "sales-invoice-lines": [
        {"pageSize": 100},
        {"includeNonSales": True, "from": "2026-01-01"},
        {"documentType": "both"},
    ],
    "open-order-lines": [{"pageSize": 100}, {"includeFullyDelivered": True}, {"isLate": True}],
    "warehouse-stock": [{"pageSize": 200}],
    "products-find": [{"q": "a", "limit": 20}, {"q": "M8"}],
    "purchase-invoice-drafts": [{"pageSize": 100, "matchState": "any"}],
    "inbound-documents": [{"state": "any", "pageSize": 100}],
    "company-profile": [{}],
    "receivables": [{}, {"overdueMin": "1000", "limit": 5}],
    "payables": [{"pageSize": 100}, {"state": "any", "q": "AB"}],
    "payables-aging": [{}, {"overdueMin": "100", "limit": 5}],
    "summary": [
        {"measure": "sales", "compareTo": "previousYear", "groupBy": "customer"},
        {"measure": "purchases", "period": "quarter", "from": "2026-01-01", "groupBy": "product"},
        {"measure": "orderIntake", "period": "week", "from": "2026-10-01", "compareTo": "previousPeriod"},
    ],
}


# For a module about the doors (transport, auth, limits), not the database: the session server over
# SQLite alone. tests/test_backends_agree.py compares every view on both backends, and the view
# tests run on both.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


T = TypeVar("T")


def cents(value: Any) -> Decimal:
    """A test's own reading of an amount to the cent, half up (missing is 0; SQLite hands sums
    back as floats, the doubles as JSON numbers or strings)."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[], T]) -> T:
    """``make()`` once per test run, shared by the pytest-xdist workers (each of which has a
    session of its own) through a pickle in the run's temporary directory, under a file lock."""

    def write(path: Path) -> None:
        path.write_bytes(pickle.dumps(make()))

    value: T = pickle.loads(file_once_per_run(tmp_path_factory, f"{name}.pickle", write).read_bytes())
    return value


def file_once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, write: Callable[[Path], None]
) -> Path:
    """The file ``name`` in the run's temporary directory, written by ``write(path)`` once per test
    run under a file lock, whichever pytest-xdist worker asks first (a reader copies it before
    writing to it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' directories share the run's
    path = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = root / f"{name}.partial"
            partial.unlink(missing_ok=True)
            write(partial)
            partial.rename(path)
        return path


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_service(name: str, reachable: bool) -> None:
    """Skip loudly outside CI; in CI a missing service is a failure, never a skip."""
    if reachable:
        return
    message = f"{name} is not reachable: the tests that need it are NOT running"
    if in_ci():
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


def postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the duration, dropped afterwards."""
    name = f"asstio_test_{label}_{uuid.uuid4().hex[:8]}".replace("-", "_")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_demo_tenants(urls: dict[str, str], orders: int = TEST_ORDERS) -> None:
    for tenant in DEMO_TENANTS:
        seed_database(
            urls[tenant.iid],
            seed=tenant.seed,
            orders=orders,
            today=TODAY,
            currency=tenant.currency,
            id_offset=tenant.id_offset,
            draft_lines=400,
        )


@functools.cache
def _session_signing_key() -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        DevIssuer.load_or_create(Path(scratch), "http://127.0.0.1")
        return (Path(scratch) / KEY_FILE_NAME).read_bytes()


def dev_issuer(data_dir: Path, issuer_url: str) -> DevIssuer:
    """A development issuer in ``data_dir`` signing with the session's one RSA key: generating a
    key takes a good part of a second; creating one has tests of its own (test_auth_dev_issuer)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / KEY_FILE_NAME
    if not key_file.exists():
        key_file.write_bytes(_session_signing_key())
        key_file.chmod(0o600)
    return DevIssuer.load_or_create(data_dir, issuer_url)


DEV_ISSUER_URL = "http://127.0.0.1:8000"


@asynccontextmanager
async def dev_oauth_client(issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """The development authorization server's routes in-process, as a client at its URL."""
    app = Starlette(routes=dev_oauth_routes(issuer, audience=AUDIENCE, tenants=["demo", "demo-b"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=DEV_ISSUER_URL) as client:
        yield client


def dev_verifier(http: httpx.AsyncClient) -> JwtVerifier:
    """A verifier that trusts the development issuer and fetches its JWKS through ``http``."""
    return JwtVerifier(VerifierConfig(issuers=(DEV_ISSUER_URL,), audience=AUDIENCE), http)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The real app on a loopback port, with a token factory for its development issuer."""

    url: str
    data_dir: Path
    settings: Settings
    issuer: DevIssuer
    server: uvicorn.Server
    thread: threading.Thread
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def token(self, tenant: str = "demo", sub: str = "test-user") -> str:
        if (tenant, sub) not in self.tokens:
            self.tokens[tenant, sub] = self.issuer.mint(tenant=tenant, sub=sub, audience=AUDIENCE)
        return self.tokens[tenant, sub]

    def headers(self, tenant: str = "demo", sub: str = "test-user") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, sub)}"}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(data_dir: Path, tenants: dict[str, str], **overrides: Any) -> LiveServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    issuer = dev_issuer(data_dir, url)
    settings = Settings(
        tenants=tenants,
        public_url=url,
        issuers=[url],
        audience=AUDIENCE,
        dev_issuer_dir=data_dir,
        fixed_today=TODAY,
        **({"home_currency": DEMO_HOME_CURRENCY} | overrides),
    )
    server, thread = serve_in_thread(build_app(settings), port, "the test server", lifespan="on")
    return LiveServer(url, data_dir, settings, issuer, server, thread)


def serve_in_thread(app: Any, port: int, what: str, **config: Any) -> tuple[uvicorn.Server, threading.Thread]:
    """``app`` served by uvicorn on a loopback port from a thread of its own, once it listens."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.02)
    return server, thread


@asynccontextmanager
async def mcp_session(
    server: LiveServer, tenant: str = "demo", sub: str = "test-user", *, app: Starlette | None = None
) -> AsyncIterator[ClientSession]:
    """The official MCP Python client signed in as ``sub`` of ``tenant``: over real HTTP, or
    in-process into ``app`` (a second app over the same settings and databases) where the
    transport is not what a test is about."""
    transport = httpx2.ASGITransport(app=app) if app is not None else None
    async with (
        httpx2.AsyncClient(
            transport=transport, headers=server.headers(tenant, sub), timeout=30, verify=httpx2_tls()
        ) as http,
        streamable_http_client(server.mcp_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def walk(rest: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a filtered list view, following ``nextCursor`` to the end; each page must
    say ``truncated`` exactly when it hands out a cursor."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        body = (await rest.get(path, params=query)).raise_for_status().json()
        rows += body["items"]
        assert body["truncated"] == (body["nextCursor"] is not None)
        if not body["truncated"]:
            return rows
        cursor = body["nextCursor"]


@asynccontextmanager
async def rest_client(
    server: LiveServer, tenant: str = "demo", sub: str = "test-user", *, app: Starlette | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A REST client of ``server``, over its socket, or in-process into ``app`` (a second app over
    the same settings and databases) where the transport is not what a test is about."""
    transport = httpx.ASGITransport(app=app) if app is not None else None
    async with httpx.AsyncClient(
        transport=transport,
        base_url=server.url + "/api/v1",
        headers=server.headers(tenant, sub),
        timeout=30,
        verify=httpx_tls(),
    ) as client:
        yield client


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    """``app`` with its lifespan entered, in a task of its own (anyio's cancel scopes must be
    left in the task that entered them; pytest-asyncio tears fixtures down in another)."""
    started, done = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await done.wait()

    task, waiter = asyncio.create_task(hold()), asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # the start-up error, if that is why it ended
    if not started.is_set():
        raise RuntimeError("the app did not start within 30 s")
    try:
        yield app
    finally:
        done.set()
        await asyncio.wait_for(task, 30)
