"""``asstio-mcp bench``: every list view through both doors of a real server, on a big tenant.

The server runs in its own process (``python -m benchmarks.doors serve``) on a loopback port,
so the load generator shares neither its event loop nor its GIL. It verifies real development
tokens as usual, and every MCP ``tools/call`` passes the per-user rate limiter: the load
generator mints a fresh ``sub`` every ``CALLS_PER_SUB`` calls so the limiter never refuses.

Reported, per view: throughput (requests/s) and p50/p99 latency per door, the MCP/REST
throughput ratio, and the median latency of the first page against a deep page reached by
walking the cursor. Medians and ratios, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx
import sqlalchemy as sa

from demo.dev_issuer import DevIssuer
from tools import schema as s
from tools.view import View, registered_views

TENANT = "demo"  # the development authorization server signs users into "demo"
AUDIENCE = "asstio-bench"
CALLS_PER_SUB = 50  # well under the limiter's 60 tool calls per minute per user
DEEP_PAGE_SIZE = 50
PAGE_SAMPLES = 31
SAMPLE_BUDGET_SECONDS = 30.0
WALK_BUDGET_SECONDS = 120.0
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
TARGETS = {"deep": 1.5, "mcp": 0.70}


# -- the tenant -----------------------------------------------------------------------------


def prepare_tenant(args: argparse.Namespace) -> str:
    """The database URL to bench: the given PostgreSQL one, or a SQLite file in the data dir;
    seeded with ``--orders`` orders unless it already holds data."""
    if args.database_url:
        if not is_seeded(args.database_url):
            seed(args.database_url, args.orders)
        return str(args.database_url)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = (args.data_dir / f"bench-{args.orders}.db").resolve()
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        seed(f"sqlite:///{partial}", args.orders)
        partial.rename(path)
    return f"sqlite:///{path}"


def is_seeded(url: str) -> bool:
    with connected(url) as conn:
        if not sa.inspect(conn).has_table(s.orders.name):
            return False
        return conn.execute(sa.select(s.orders.c.Id).limit(1)).first() is not None


def seed(url: str, orders: int) -> None:
    from demo.tenants import seed_database

    print(f"generating a tenant of {orders} orders ...", file=sys.stderr)
    today = datetime.now(UTC).date()
    seed_database(url, seed=1, orders=orders, today=today, progress=True)


@contextmanager
def connected(url: str) -> Iterator[sa.Connection]:
    from tools.db import create_tenant_engine

    engine = create_tenant_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


# -- the views and their sample arguments ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    view: View
    args: dict[str, Any]
    label: str = ""  # the filters of a filtered run of the view

    @property
    def name(self) -> str:
        return f"{self.view.name} {self.label}" if self.label else self.view.name

    @property
    def pageable(self) -> bool:
        return "cursor" in self.view.params.model_fields


def list_views(names: list[str] | None) -> list[View]:
    """Every registered read view without path parameters, or the named ones."""
    views = [v for v in registered_views() if not v.writes and not v.path_params]
    if not names:
        return views
    known = {v.name: v for v in views}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown view(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return [known[n] for n in names]


def required_arguments(view: View) -> list[str]:
    fields = view.params.model_fields.items()
    return [f.alias or name for name, f in fields if f.is_required()]


def product_with_most_prices(conn: sa.Connection) -> Any:
    sp = s.supplier_prices
    count = sa.func.count()
    stmt = sa.select(sp.c.ProductId).group_by(sp.c.ProductId).order_by(count.desc(), sp.c.ProductId)
    return conn.execute(stmt.limit(1)).scalar()


def common_description_word(conn: sa.Connection) -> Any:
    """The commonest word of the product descriptions: a search with many candidates."""
    descriptions = conn.execute(sa.select(s.products.c.Description).limit(500)).scalars()
    words = Counter(w.lower() for d in descriptions for w in re.findall(r"[^\W\d_]{4,}", d))
    return words.most_common(1)[0][0] if words else "a"


SAMPLERS: dict[str, Callable[[sa.Connection], Any]] = {
    "productId": product_with_most_prices,
    "q": common_description_word,
}


# The filters finance questions use (issue 14), each benched as a run of its own after the view.
FILTERED: dict[str, list[dict[str, Any]]] = {
    "sales-invoices": [{"isLate": True}, {"openAmountMin": "10000"}, {"isFullyPaid": False}],
    "sales-invoice-lines": [{"documentType": "credit"}],
    "open-order-lines": [{"isLate": True}],
    "vendor-prices": [{"validFirst": True}, {"validOn": "today"}],
    "purchase-invoice-drafts": [{"withAutoEligible": True}, {"readyToAutoMatch": True}],
    "summary": [
        {"period": "month", "groupBy": "customer", "top": 10},
        {"period": "year", "groupBy": "product", "top": 10, "compareTo": "previousYear"},
        {"measure": "orderIntake", "period": "week"},
        {"measure": "purchases", "period": "year", "groupBy": "vendor"},
    ],
    "customers": [{"openMin": "10000"}],
    "receivables": [{"overdueMin": "10000"}],
    "products-find": [{"q": "horselskydd"}, {"q": "kabel 3G1,5"}],
    "sales-orders": [{"q": "kungsgatan projekt"}],
}


def filtered_args(filters: dict[str, Any]) -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    return {name: today if value == "today" else value for name, value in filters.items()}


def sample_targets(url: str, views: list[View]) -> tuple[list[Target], list[str]]:
    """Each view with arguments taken from the data, then its question filters; views needing
    an unknown argument are skipped (with the reason)."""
    targets, skipped = [], []
    with connected(url) as conn:
        for view in views:
            missing = [a for a in required_arguments(view) if a not in SAMPLERS]
            if missing:
                skipped.append(f"{view.name} (needs {', '.join(missing)})")
                continue
            args = {a: SAMPLERS[a](conn) for a in required_arguments(view)}
            targets.append(Target(view, args))
            for filters in FILTERED.get(view.name, []):
                label = " ".join(f"{name}={query_string(filters)[name]}" for name in filters)
                targets.append(Target(view, args | filtered_args(filters), label))
    return targets, skipped


# -- the server in its own process ----------------------------------------------------------


@dataclass
class Server:
    url: str
    issuer: DevIssuer
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(database_url: str, data_dir: Path, workers: int = 1) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    issuer = DevIssuer.load_or_create(data_dir, url)  # the key exists before the server reads it
    command = [sys.executable, "-m", "benchmarks.doors", "serve", database_url, str(data_dir), str(port)]
    with (data_dir / "bench-server.log").open("wb") as log:
        process = subprocess.Popen([*command, str(workers)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(url, process)
        yield Server(url, issuer, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the bench server exited ({process.returncode}); see bench-server.log")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the bench server did not become ready in time")


def serve(argv: list[str]) -> None:
    """``python -m benchmarks.doors serve DATABASE_URL DATA_DIR PORT [WORKERS]``: the app as in
    production, with the development issuer for tokens; WORKERS processes share the port as
    under ``asstio-mcp serve --workers``."""
    import uvicorn

    database_url, data_dir, port, *workers = argv
    count = int(workers[0]) if workers else 1
    if count == 1:
        uvicorn.run(
            bench_app(database_url, data_dir, port), host="127.0.0.1", port=int(port), log_level="warning"
        )
        return
    os.environ[BENCH_ENV] = json.dumps([database_url, data_dir, port])
    uvicorn.run(
        "benchmarks.doors:bench_app_from_env",
        factory=True,
        workers=count,
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
    )


BENCH_ENV = "ASSTIO_BENCH_SERVER"


def bench_app(database_url: str, data_dir: str, port: str) -> Any:
    from mcp_server.app import build_app
    from mcp_server.settings import Settings

    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        tenants={TENANT: database_url},
        public_url=url,
        issuers=[url],
        audience=AUDIENCE,
        dev_issuer_dir=Path(data_dir),
    )
    return build_app(settings)


def bench_app_from_env() -> Any:
    """The app of one worker process (each worker builds its own, as ``mcp_server.asgi`` does)."""
    return bench_app(*json.loads(os.environ[BENCH_ENV]))


# -- the load generator ---------------------------------------------------------------------


class Tokens:
    """Bearer headers for ever new users: one ``sub`` per ``CALLS_PER_SUB`` calls."""

    def __init__(self, issuer: DevIssuer) -> None:
        self.issuer = issuer
        self.subs = 0
        self.calls = CALLS_PER_SUB
        self.header: dict[str, str] = {}

    def next(self) -> dict[str, str]:
        if self.calls >= CALLS_PER_SUB:
            self.subs += 1
            token = self.issuer.mint(tenant=TENANT, sub=f"bench-{self.subs}", audience=AUDIENCE)
            self.header, self.calls = {"Authorization": f"Bearer {token}"}, 0
        self.calls += 1
        return self.header


@dataclass
class Outcome:
    ok: bool
    status: int
    body: Any


class Door(Protocol):
    name: str

    async def call(self, target: Target, args: dict[str, Any]) -> Outcome: ...


@dataclass
class RestDoor:
    client: httpx.AsyncClient
    tokens: Tokens
    name: str = "REST"

    async def call(self, target: Target, args: dict[str, Any]) -> Outcome:
        view, headers = target.view, self.tokens.next()
        url = "/api/v1" + view.path
        if view.method == "POST":
            response = await self.client.post(url, json=args, headers=headers)
        else:
            response = await self.client.get(url, params=query_string(args), headers=headers)
        body = response.json()
        return Outcome(response.status_code == 200, response.status_code, body)


def query_string(args: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()}


@dataclass
class McpDoor:
    """A stateless MCP client: one JSON-RPC ``tools/call`` POST per call, JSON responses."""

    client: httpx.AsyncClient
    tokens: Tokens
    name: str = "MCP"

    async def call(self, target: Target, args: dict[str, Any]) -> Outcome:
        message = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": target.view.tool, "arguments": args},
        }
        headers = MCP_HEADERS | self.tokens.next()
        response = await self.client.post("/mcp", json=message, headers=headers)
        body = response.json()
        result = (body.get("result") if isinstance(body, dict) else None) or {}
        ok = response.status_code == 200 and bool(result) and not result.get("isError")
        return Outcome(ok, response.status_code, result.get("structuredContent"))


@dataclass
class Throughput:
    door: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    refused: int


@dataclass
class Load:
    door: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0

    def throughput(self) -> Throughput:
        ok = len(self.latencies) - self.errors
        return Throughput(
            door=self.door,
            requests_per_second=ok / self.seconds if self.seconds else 0.0,
            p50_ms=statistics.median(self.latencies) * 1000 if self.latencies else 0.0,
            p99_ms=percentile(self.latencies, 99) * 1000,
            errors=self.errors,
            refused=self.statuses[429],
        )


async def run_load(door: Door, target: Target, seconds: float, workers: int, load: Load) -> None:
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            outcome = await door.call(target, target.args)
            load.latencies.append(time.perf_counter() - started)
            load.statuses[outcome.status] += 1
            load.errors += not outcome.ok

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(worker)
    load.seconds += time.perf_counter() - started


async def measure_throughput(
    doors: list[Door], target: Target, seconds: float, workers: int
) -> list[Throughput]:
    """The doors in alternating slices of about a second (a slow view's slice lasts as long as
    its requests), so that whatever else the machine does meanwhile weighs on both alike; a
    warm-up first, discarded."""
    for door in doors:
        await run_load(door, target, min(1.0, seconds / 5), workers, Load(door.name))
    loads = {door.name: Load(door.name) for door in doors}
    turn = 0
    while any(load.seconds < seconds for load in loads.values()):
        for door in doors if turn % 2 == 0 else doors[::-1]:
            load = loads[door.name]
            if load.seconds < seconds:
                await run_load(door, target, min(1.0, seconds - load.seconds), workers, load)
        turn += 1
    return [load.throughput() for load in loads.values()]


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# -- first page against a deep page ---------------------------------------------------------


@dataclass
class Walk:
    page: int
    args: dict[str, Any]
    stopped: str | None = None  # why the walk ended before the page asked for, if not the end
    broken: bool = False  # the cursor failed to lead on (an error or a repeated page)


@dataclass
class Paging:
    walk: Walk
    samples: int
    first_ms: float
    deep_ms: float
    failed: int

    @property
    def ratio(self) -> float:
        return self.deep_ms / self.first_ms if self.first_ms else 0.0


async def walk_to(door: Door, target: Target, page: int) -> Walk:
    """Follow ``nextCursor`` to ``page``, or as far as the view's rows (or the time) allow."""
    walk = Walk(1, target.args | {"pageSize": DEEP_PAGE_SIZE})
    deadline, previous = time.monotonic() + WALK_BUDGET_SECONDS, None
    while walk.page < page and not walk.stopped:
        outcome = await door.call(target, walk.args)
        walk.stopped, walk.broken = walk_problem(outcome, walk.page, previous)
        if time.monotonic() > deadline and not walk.stopped:
            walk.stopped = f"walk stopped after {WALK_BUDGET_SECONDS:.0f} s"
        if not walk.stopped:
            previous = outcome.body["items"]
            walk.page, walk.args = walk.page + 1, walk.args | {"cursor": outcome.body["nextCursor"]}
    return walk


def walk_problem(outcome: Outcome, page: int, previous: Any) -> tuple[str | None, bool]:
    if not outcome.ok:
        return f"page {page} failed: HTTP {outcome.status}", True
    if previous is not None and outcome.body.get("items") == previous:
        return f"page {page} repeats page {page - 1}: the cursor does not advance", True
    if not outcome.body.get("nextCursor"):
        return "the last; the view has fewer rows", False
    return None, False


async def timed(door: Door, target: Target, args: dict[str, Any]) -> tuple[float, bool]:
    started = time.perf_counter()
    outcome = await door.call(target, args)
    return time.perf_counter() - started, outcome.ok


async def measure_paging(door: Door, target: Target, page: int) -> Paging:
    """Median latency of the first page and of the deep page, fetched in turn (so any drift
    hits both alike), ``PAGE_SAMPLES`` times or for ``SAMPLE_BUDGET_SECONDS``."""
    walk = await walk_to(door, target, page)
    first_args = target.args | {"pageSize": DEEP_PAGE_SIZE}
    first: list[float] = []
    deep: list[float] = []
    failed = 0
    deadline = time.monotonic() + SAMPLE_BUDGET_SECONDS
    while len(first) < PAGE_SAMPLES and (len(first) < 3 or time.monotonic() < deadline):
        for times, args in ((first, first_args), (deep, walk.args)):
            seconds, ok = await timed(door, target, args)
            times.append(seconds)
            failed += not ok
    return Paging(walk, len(first), statistics.median(first) * 1000, statistics.median(deep) * 1000, failed)


# -- one run --------------------------------------------------------------------------------


@dataclass
class ViewResult:
    target: Target
    rest: Throughput
    mcp: Throughput
    paging: Paging | None

    @property
    def ratio(self) -> float:
        return (
            self.mcp.requests_per_second / self.rest.requests_per_second
            if self.rest.requests_per_second
            else 0.0
        )


@dataclass
class Run:
    results: list[ViewResult]
    subs: int
    load_average: tuple[float, float]


Progress = Callable[[str], None]


async def bench_views(server: Server, targets: list[Target], args: argparse.Namespace, note: Progress) -> Run:
    tokens, load_before = Tokens(server.issuer), os.getloadavg()[0]
    limits = httpx.Limits(
        max_connections=args.concurrency + 2, max_keepalive_connections=args.concurrency + 2
    )
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120) as client:
        rest, mcp = RestDoor(client, tokens), McpDoor(client, tokens)
        results = [await bench_view(rest, mcp, target, args, note) for target in targets]
    return Run(results, tokens.subs, (load_before, os.getloadavg()[0]))


async def bench_view(
    rest: Door, mcp: Door, target: Target, args: argparse.Namespace, note: Progress
) -> ViewResult:
    note(f"{target.name}: throughput, REST and MCP")
    rest_load, mcp_load = await measure_throughput([rest, mcp], target, args.duration, args.concurrency)
    paging = None
    if target.pageable:
        note(f"{target.name}: first page against page {args.deep_page}")
        paging = await measure_paging(rest, target, args.deep_page)
    return ViewResult(target, rest_load, mcp_load, paging)


# -- the machine ----------------------------------------------------------------------------


def machine(url: str) -> str:
    return ", ".join(
        [
            platform.platform(),
            cpu_model(),
            f"{os.cpu_count()} cores",
            f"{memory_gib():.1f} GiB RAM",
            f"Python {platform.python_version()}",
            f"SQLAlchemy {sa.__version__}",
            database_version(url),
        ]
    )


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown CPU"


def memory_gib() -> float:
    meminfo = Path("/proc/meminfo")
    found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text() if meminfo.exists() else "", re.M)
    return int(found.group(1)) / 1024**2 if found else 0.0


def database_version(url: str) -> str:
    with connected(url) as conn:
        info = conn.dialect.server_version_info or ()
        name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(conn.dialect.name, conn.dialect.name)
    return f"{name} {'.'.join(str(part) for part in info)}"


# -- the report -----------------------------------------------------------------------------


def command_line(args: argparse.Namespace) -> str:
    words = ["asstio-mcp", "bench", "--orders", str(args.orders)]
    if args.database_url:
        words += ["--database-url", _redacted(args.database_url)]
    words += ["--duration", f"{args.duration:g}", "--concurrency", str(args.concurrency)]
    if args.deep_page != 1000:
        words += ["--deep-page", str(args.deep_page)]
    if args.views:
        words += ["--views", args.views]
    return shlex.join(words)


def _redacted(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def backend(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def report(run: Run, skipped: list[str], args: argparse.Namespace, url: str) -> str:
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(backend(url), backend(url))
    lines = [
        f"## {title}, {args.orders:,} orders",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command_line(args)}`",
        f"- Machine: {machine(url)}",
        f"- Load: {args.concurrency} concurrent workers for {args.duration:g} s per view and door "
        "(in alternating slices of about a second, after a warm-up), the server in its own process "
        "on a loopback port.",
        f"- Machine load (1-minute load average) at the start and the end: {run.load_average[0]:.1f}, "
        f"{run.load_average[1]:.1f} (anything above the core count means other work shared the CPU).",
        f"- Rate limiter in the path: every MCP `tools/call` spent its caller's budget of 60 a "
        f"minute; the load generator rotated over {run.subs:,} users ({CALLS_PER_SUB} calls each), "
        f"so it refused {sum(r.mcp.refused for r in run.results)} calls.",
        "",
        *throughput_table(run.results),
        "",
        *paging_table(run.results, args.deep_page),
        "",
        *verdict(run.results),
    ]
    if skipped:
        lines += ["", f"Not benched (no sample argument known): {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def throughput_table(results: list[ViewResult]) -> list[str]:
    lines = [
        "Throughput and latency (first page, default page size; MCP/REST = throughput ratio):",
        "",
        "| view | door | req/s | p50 ms | p99 ms | errors | MCP/REST |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for load in (result.rest, result.mcp):
            ratio = f"{result.ratio:.2f}" if load is result.mcp else ""
            lines.append(
                f"| {result.target.name} | {load.door} | {load.requests_per_second:,.0f} | "
                f"{load.p50_ms:.1f} | {load.p99_ms:.1f} | {load.errors} | {ratio} |"
            )
    return lines


def paging_table(results: list[ViewResult], deep_page: int) -> list[str]:
    lines = [
        f"First page against a deep page (REST, pageSize {DEEP_PAGE_SIZE}, the cursor walked to page "
        f"{deep_page:,}; medians of up to {PAGE_SAMPLES} sequential fetches of each, taken in turn):",
        "",
        "| view | deep page | first ms | deep ms | deep/first | fetches | failed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        paging = result.paging
        if paging is None:
            lines.append(f"| {result.target.name} | no cursor (one ranked list) | | | | | |")
            continue
        lines.append(
            f"| {result.target.name} | {page_label(paging)} | {paging.first_ms:.1f} | "
            f"{paging.deep_ms:.1f} | {paging.ratio:.2f} | {paging.samples} | {paging.failed} |"
        )
    return lines


def page_label(paging: Paging) -> str:
    walk = paging.walk
    return f"{walk.page:,} ({walk.stopped})" if walk.stopped else f"{walk.page:,}"


def verdict(results: list[ViewResult]) -> list[str]:
    paged = [r for r in results if r.paging is not None]
    slow_deep = [r.target.name for r in paged if r.paging and not deep_page_met(r.paging)]
    slow_mcp = [r.target.name for r in results if r.ratio < TARGETS["mcp"] or r.rest.errors or r.mcp.errors]
    return [
        f"Targets: deep page within {TARGETS['deep']}x of the first page: " + tally(len(paged), slow_deep),
        f"MCP throughput at least {TARGETS['mcp']:.0%} of REST: " + tally(len(results), slow_mcp),
    ]


def deep_page_met(paging: Paging) -> bool:
    return paging.failed == 0 and not paging.walk.broken and paging.ratio <= TARGETS["deep"]


def tally(total: int, failing: list[str]) -> str:
    missed = f" (not: {', '.join(failing)})" if failing else ""
    return f"{total - len(failing)}/{total} views{missed}."


def write_output(path: Path, url: str, section: str, marker: str = "bench") -> None:
    """Replace this backend's section of the file (between its markers), keeping the rest."""
    start, end = f"<!-- {marker}:{backend(url)}:start -->", f"<!-- {marker}:{backend(url)}:end -->"
    block = f"{start}\n{section}{end}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        text = head + block + rest.partition(end)[2].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- the command ----------------------------------------------------------------------------


def note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- first answers ----------------------------------------------------------------------------

FIRST_TARGET_SECONDS = 1.0
WARM_SAMPLES = 5


@dataclass
class FirstAnswer:
    target: Target
    first_ms: float  # the view's first call on a fresh server (MCP): nothing of it cached yet
    first_cpu_ms: float  # the server process's CPU during that call (SQLite's work included)
    warm_mcp_ms: float  # median of WARM_SAMPLES further MCP calls
    warm_rest_ms: float  # median of WARM_SAMPLES REST calls
    ok: bool


async def first_answer(server: Server, target: Target) -> FirstAnswer:
    """The target's first call through MCP on a server that has answered nothing yet, then
    warm medians through both doors; one call at a time."""
    tokens = Tokens(server.issuer)
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        rest, mcp = RestDoor(client, tokens), McpDoor(client, tokens)
        cpu = process_cpu_seconds(server.process.pid)
        first, ok = await timed(mcp, target, target.args)
        cpu = process_cpu_seconds(server.process.pid) - cpu
        warm: dict[str, list[float]] = {"MCP": [], "REST": []}
        for _ in range(WARM_SAMPLES):
            for door in (mcp, rest):
                seconds, fine = await timed(door, target, target.args)
                warm[door.name].append(seconds)
                ok = ok and fine
    return FirstAnswer(
        target,
        first * 1000,
        cpu * 1000,
        statistics.median(warm["MCP"]) * 1000,
        statistics.median(warm["REST"]) * 1000,
        ok,
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc (0 where there is none)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_answers_report(
    results: list[FirstAnswer],
    skipped: list[str],
    args: argparse.Namespace,
    url: str,
    load: tuple[float, float],
) -> str:
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(backend(url), backend(url))
    words = ["asstio-mcp", "bench", "--first-answers", "--orders", str(args.orders)]
    if args.database_url:
        words += ["--database-url", _redacted(args.database_url)]
    if args.views:
        words += ["--views", args.views]
    lines = [
        f"## First answers: {title}, {args.orders:,} orders",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{shlex.join(words)}`",
        f"- Machine: {machine(url)}",
        f"- Machine load (1-minute load average) at the start and the end: {load[0]:.1f}, {load[1]:.1f} "
        "(the machine's two cores were shared with other engineers' work: above 2 means they competed).",
        "- One call at a time. `first`: the view's first call through MCP on a freshly started server "
        "(a new server process for each row: no cache of ours holds anything yet; the database's and "
        "the OS's caches may, from earlier rows); then "
        f"{WARM_SAMPLES} more calls through each door, medians.",
        "",
        "- `server CPU`: the server process's CPU time during the first call (on SQLite the "
        "database's work is in it; on PostgreSQL the database's own processes are not). With the "
        "cores shared, the wall time is the CPU time plus the waiting for a core.",
        "",
        "| view | first ms (MCP) | server CPU ms (first) | warm MCP ms | warm REST ms | ok |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.target.name} | {r.first_ms:.1f} | {r.first_cpu_ms:.0f} | {r.warm_mcp_ms:.1f} | "
            f"{r.warm_rest_ms:.1f} | "
            f"{'yes' if r.ok else 'ERROR'} |"
        )
    slow = [r.target.name for r in results if r.first_ms >= FIRST_TARGET_SECONDS * 1000 or not r.ok]
    lines += [
        "",
        f"Target: every first answer under {FIRST_TARGET_SECONDS:g} s: " + tally(len(results), slow),
    ]
    if skipped:
        lines += ["", f"Not benched (no sample argument known): {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def run_first_answers(args: argparse.Namespace, url: str, targets: list[Target], skipped: list[str]) -> None:
    load_before = os.getloadavg()[0]
    results = []
    for target in targets:  # a server of its own each: no cache holds anything of the view yet
        note(f"{target.name}: first answer")
        with served(url, args.data_dir) as server:
            results.append(anyio.run(first_answer, server, target))
    section = first_answers_report(results, skipped, args, url, (load_before, os.getloadavg()[0]))
    print(section)
    if args.output:
        write_output(args.output, url, section, marker="first")
        note(f"wrote {args.output}")


def run_bench(args: argparse.Namespace) -> None:
    url = prepare_tenant(args)
    views = list_views([n.strip() for n in args.views.split(",") if n.strip()] if args.views else None)
    targets, skipped = sample_targets(url, views)
    if getattr(args, "first_answers", False):
        run_first_answers(args, url, targets, skipped)
        return
    with served(url, args.data_dir) as server:
        run = anyio.run(bench_views, server, targets, args, note)
    section = report(run, skipped, args, url)
    print(section)
    if args.output:
        write_output(args.output, url, section)
        note(f"wrote {args.output}")


def main(argv: list[str]) -> None:
    if argv[:1] != ["serve"]:
        raise SystemExit("usage: python -m benchmarks.doors serve DATABASE_URL DATA_DIR PORT")
    serve(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
