"""Fixtures: the two demo tenants seeded into SQLite and (required in CI) PostgreSQL, and a
real server over each, shared by the whole session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession
from starlette.applications import Starlette

from mcp_server.app import build_app
from tests.support import (
    LiveServer,
    mcp_session,
    postgres_database,
    postgres_reachable,
    require_service,
    rest_client,
    running,
    seed_demo_tenants,
    start_server,
)

BACKENDS = ["sqlite", "postgres"]

# The suite runs on pytest-xdist workers (scripts/test.sh), each with session fixtures of its own.
# A module with a module-scoped fixture (a synced double, replicas, a generated data set) runs on
# one worker so that the fixture is built once; every other test is a unit of its own. Units go
# out in collection order, and each worker runs its units in that order, so the order below holds
# on every worker:
# - first the comparison of pristine backends (it reads the session tenants before any write);
# - then the modules whose tests are slow on their own (real rate limits, Node clients,
#   subprocess syncs; measured with --durations), so that no worker is left with one at the end;
# - last the modules that write matches into the session tenants (every test before them reads
#   the seeded data as generated).
FIRST = ("test_backends_agree",)
SLOW = (
    "test_fortnox_views",
    "test_fortnox_sync",
    "test_real_clients",
    "test_matching_quality",
    "test_bench_command",
    "test_bench_dbhub",
    "test_readme",
    "test_rate_limit_doors",
    "test_wisedat",
    "test_asperion",
    "test_questions",
    "test_maventa_poll",
)
WRITERS = ("test_audit_doors", "test_matching_doors")
# A module whose module fixture is cheap next to its tests (each test syncs a double of its own).
SPREAD = {"test_fortnox_sync"}
HERE = Path(__file__).parent
MODULE_FIXTURES = {
    path.stem for path in HERE.glob("test_*.py") if 'scope="module"' in path.read_text(encoding="utf-8")
} - SPREAD


def module_of(nodeid: str) -> str:
    return Path(nodeid.split("::")[0]).stem


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups above. (xdist's own loadgroup renames an item's
    ``_nodeid``, which pytest 9 no longer reads, so its groups are lost.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModuleFixture(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return module_of(nodeid) if module_of(nodeid) in MODULE_FIXTURES else nodeid

    return ByModuleFixture(config, log)


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by session-scoped parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = [*FIRST, *SLOW, "", *WRITERS]

    def rank(item: pytest.Item) -> int:
        module = module_of(item.nodeid)
        return order.index(module) if module in order else order.index("")

    items.sort(key=rank)  # stable: each module keeps pytest's order


@pytest.fixture(scope="session")
def sqlite_tenants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("sqlite-tenants")
    urls = {iid: f"sqlite:///{root / iid}.db" for iid in ("demo", "demo-b")}
    seed_demo_tenants(urls)
    return urls


@pytest.fixture(scope="session")
def postgres_tenants() -> Iterator[dict[str, str]]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with ExitStack() as stack:
        urls = {iid: stack.enter_context(postgres_database(iid)) for iid in ("demo", "demo-b")}
        seed_demo_tenants(urls)
        yield urls


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tenants = request.getfixturevalue(f"{backend}_tenants")
    live = start_server(Path(tmp_path_factory.mktemp(f"server-{backend}")), tenants)
    yield live
    live.stop()


@pytest.fixture(scope="session")
async def in_process(server: LiveServer) -> AsyncIterator[Starlette]:
    """A second app over the live server's settings, run in the tests' own event loop."""
    async with running(build_app(server.settings)) as app:
        yield app


@pytest.fixture
async def rest(server: LiveServer, in_process: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The REST door in-process (no socket, no server thread); a test about the transport, the
    server's metrics or its cache uses ``rest_client(server)`` instead."""
    async with rest_client(server, app=in_process) as client:
        yield client


@pytest.fixture
async def mcp(server: LiveServer, in_process: Starlette) -> AsyncIterator[ClientSession]:
    """The official MCP client in-process (no socket, no server thread), signed in as a user of
    its own (no test spends another's tool-call budget); a test about the transport uses
    ``mcp_session(server)`` instead. The session lives in one task of its own: anyio cancel scopes must be
    entered and left in the same task, and pytest-asyncio tears fixtures down in another."""
    ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with mcp_session(server, sub=f"mcp-{uuid.uuid4().hex[:8]}", app=in_process) as session:
                ready.set_result(session)
                await done.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    task = asyncio.create_task(hold())
    yield await ready
    done.set()
    await task
