"""``python -m benchmarks.dbhub``: our MCP tool calls against DBHub 1.4 (``@bytebase/dbhub``, run
by the Node 22 of ``benchmarks/package.json``) on copies of one SQLite tenant file, with the
MCP SDK's hello-world tool as the ceiling.

DBHub runs the SQL our views run, captured from our own statements (parameters inlined); for
the two searches it runs what a database MCP server runs without a search index: the same page
statement with the v1 ``lower(...) LIKE`` filter. The same client (``benchmarks/load.mjs``, on
that Node) drives every side with the same concurrency in alternating slices; server CPU is
read from ``/proc`` for each server's process tree. Printed: calls/s, p50/p99, CPU per call,
and our ratio to each other side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.doors import CALLS_PER_SUB, MCP_HEADERS, Tokens, free_port, served, upgrade, wait_until_ready
from tools import schema as s
from tools.db import create_tenant_engine
from tools.view import ViewContext, registered_views

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / ".bin" / "node"
LOAD = HERE / "load.mjs"
# The most calls per second a slice has fresh users for (one per CALLS_PER_SUB calls).
MAX_RATE = 5000
DBHUB = HERE / "node_modules" / "@bytebase" / "dbhub" / "dist" / "index.js"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the workloads --------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    tool: str
    args: dict[str, Any]
    dbhub_sql: str = ""


def sample_workloads(url: str) -> list[Workload]:
    """The four workloads of issue 10, with arguments taken from the tenant."""
    with create_tenant_engine(url).connect() as conn:
        c = s.companies
        customer = conn.scalar(sa.select(c.c.Id).where(c.c.IsCustomer.is_(True)).order_by(c.c.Id).limit(1))
        word = common_description_word(conn)
        project = rare_document_name(conn)
    return [
        Workload("sales orders, first page of 50", "list_sales_orders", {}),
        Workload("one customer", "get_customer", {"customerId": customer}),
        Workload("find_products substring", "find_products", {"q": word}),
        Workload("q free text on sales orders", "list_sales_orders", {"q": project}),
    ]


def common_description_word(conn: sa.Connection) -> str:
    descriptions = conn.scalars(sa.select(s.products.c.Description).limit(500))
    counts: dict[str, int] = {}
    for description in descriptions:
        for word in description.split():
            if word.isalpha() and len(word) >= 4:
                counts[word.lower()] = counts.get(word.lower(), 0) + 1
    return max(sorted(counts), key=lambda w: counts[w]) if counts else "a"


def rare_document_name(conn: sa.Connection) -> str:
    """A document name that a person would type to find one project: rare among a million."""
    o = s.orders
    stmt = sa.select(o.c.Name).where(o.c.Name.like("Projekt Kungsgatan %")).order_by(o.c.Id).limit(1)
    return conn.scalar(stmt) or "Projekt"


# -- capturing our SQL -----------------------------------------------------------------------


def captured_statements(url: str, tool: str, args: dict[str, Any]) -> list[str]:
    """The statements one call of ``tool`` executes (after a warm-up call), parameters inlined."""
    view = next(v for v in registered_views() if v.tool == tool)
    engine = create_tenant_engine(url)
    seen: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(inline(statement, parameters))

    ctx = ViewContext(tenant="bench", sub="bench", today=datetime.now(UTC).date())
    params = view.params.model_validate(args)
    with engine.connect() as conn:
        view.query(conn, ctx, params)
        seen.clear()
        view.query(conn, ctx, params)
    engine.dispose()
    return [statement for statement in seen if statement.lstrip().upper().startswith(("SELECT", "WITH"))]


def inline(statement: str, parameters: Any) -> str:
    """The statement with its parameters as literals: ``?`` (SQLite) or ``%(name)s`` (psycopg)."""
    if isinstance(parameters, dict):
        named = re.sub(r"%\((\w+)\)s", lambda m: literal(parameters[m.group(1)], "true"), statement)
        return named.replace("%%", "%")
    values = list(parameters or ())
    parts = statement.split("?")
    if len(parts) - 1 != len(values):
        raise SystemExit(f"cannot inline {len(values)} parameters into: {statement[:200]}")
    out = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        out += [literal(value), part]
    return "".join(out)


def literal(value: Any, true: str = "1") -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return true if value else ("false" if true == "true" else "0")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):  # a PostgreSQL array (the index of pairs' parameter)
        items = ",".join('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"' for item in value)
        return literal("{" + items + "}")
    return "'" + str(value).replace("'", "''") + "'"


def like_search(page_statement: str, q: str) -> str:
    """Our first-page statement with the v1 filter of ``q``: ``lower(...) LIKE`` on the
    document's and its party's name, which no index serves."""
    pattern = literal("%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    party = (
        f"""SELECT "Company"."Id" FROM "Company" WHERE lower("Company"."Name") LIKE {pattern} ESCAPE '\\'"""
    )
    condition = (
        f"""(lower("Orders"."Name") LIKE {pattern} ESCAPE '\\' OR "Orders"."CompanyId" IN ({party}))"""
    )
    head, order_by, tail = page_statement.rpartition(" ORDER BY ")
    return f"{head} AND {condition}{order_by}{tail}"


def like_products(q: str, limit: int = 10) -> str:
    """The v1 ``find_products`` statement: ``lower(...) LIKE`` on number and description."""
    text = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    contains, prefix = literal(f"%{text}%"), literal(f"{text}%")
    number = 'lower("Product"."ProductNumber")'
    return (
        'SELECT "Product"."Id", "Product"."ProductNumber", "Product"."Description", "Product"."Barcode", '
        f'"Product"."IsActive" FROM "Product" WHERE {number} LIKE {contains} ESCAPE \'\\\' OR '
        f'lower("Product"."Description") LIKE {contains} ESCAPE \'\\\' OR "Product"."Barcode" = {literal(q)} '
        f"ORDER BY CASE WHEN {number} = {literal(q.lower())} THEN 0 WHEN {number} LIKE {prefix} ESCAPE '\\' "
        f"THEN 1 WHEN {number} LIKE {contains} ESCAPE '\\' THEN 2 ELSE 3 END, "
        f'"Product"."ProductNumber", "Product"."Id" LIMIT {limit}'
    )


def attach_dbhub_sql(url: str, workloads: list[Workload]) -> None:
    for workload in workloads:
        if workload.tool == "find_products":
            workload.dbhub_sql = like_products(workload.args["q"])
        elif "q" in workload.args:
            first_page = captured_statements(url, workload.tool, {})[-1]
            workload.dbhub_sql = like_search(first_page, workload.args["q"])
        else:
            workload.dbhub_sql = ";\n".join(captured_statements(url, workload.tool, workload.args))


# -- the servers -----------------------------------------------------------------------------


@dataclass
class Side:
    """One server under load: the message each call posts, the headers of its users (call k
    sends ``users(n)[k // CALLS_PER_SUB]``), and its process for the CPU it spends."""

    name: str
    url: str
    pid: int
    body: Callable[[Workload], dict[str, Any]]
    users: Callable[[int], list[dict[str, str]]] = lambda count: [{}] * count


def ours(workload: Workload) -> dict[str, Any]:
    return tools_call(workload.tool, workload.args)


def dbhub(workload: Workload) -> dict[str, Any]:
    return tools_call("execute_sql", {"sql": workload.dbhub_sql})


def tools_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


@contextmanager
def dbhub_served(dsn: str, log_dir: Path) -> Iterator[tuple[str, int]]:
    if not NODE.exists() or not DBHUB.exists():
        raise SystemExit("DBHub is not installed: npm ci --prefix benchmarks --no-audit --no-fund")
    port = free_port()
    command = [str(NODE), str(DBHUB), "--transport=http", f"--port={port}", "--host=127.0.0.1"]
    command.append(f"--dsn={dsn}")
    with (log_dir / "dbhub.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(f"http://127.0.0.1:{port}/mcp", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def hello_served(log_dir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    with (log_dir / "hello.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.hello", str(port)], stdout=log, stderr=log
        )
    try:
        wait_until_listening(f"http://127.0.0.1:{port}/mcp", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_listening(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited ({process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in time")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (worker processes included)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        process_id = int(stat.parent.name)
        parents[process_id], ticks[process_id] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | more, bool(more)
    return sum(ticks.get(process_id, 0) for process_id in tree) / CLOCK_TICKS


# -- the load --------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def line(self) -> str:
        if not self.latencies:
            return "no successful call"
        rate = self.calls / self.seconds
        p50, p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        cpu = 1000 * self.cpu / self.calls
        return f"{rate:8.1f} calls/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  CPU/call {cpu:6.2f} ms"


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def run_slice(side: Side, workload: Workload, concurrency: int, seconds: float, tally: Tally) -> None:
    """One slice of load from ``benchmarks/load.mjs`` (Node): the same client for every side,
    light enough that the servers, not the client, use the machine's cores. The server's CPU is
    read right before the client starts and right after it ends."""
    users = side.users(int(MAX_RATE * seconds / CALLS_PER_SUB) + 1)
    spec = {
        "url": side.url + "/mcp",
        "concurrency": concurrency,
        "seconds": seconds,
        "body": side.body(workload),
        "headers": [MCP_HEADERS | headers for headers in users],
        "perHeaders": CALLS_PER_SUB,
    }
    client = subprocess.Popen(
        [str(NODE), str(LOAD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert client.stdin is not None and client.stdout is not None
    try:
        client.stdin.write(json.dumps(spec) + "\n")
        client.stdin.flush()
        if client.stdout.readline().strip() != "ready":
            raise SystemExit("the load client (benchmarks/load.mjs) did not start")
        cpu_before = cpu_seconds(side.pid)
        client.stdin.write("go\n")
        client.stdin.flush()
        outcome = json.loads(client.stdout.readline() or "null")
        cpu_after = cpu_seconds(side.pid)
    finally:
        client.stdin.close()
        client.wait(timeout=60)
    if not isinstance(outcome, dict):
        raise SystemExit("the load client (benchmarks/load.mjs) ended without its figures")
    tally.latencies += [ms / 1000 for ms in outcome["latencies"]]
    tally.errors += outcome["errors"]
    tally.seconds += outcome["seconds"]
    tally.cpu += cpu_after - cpu_before


def measure(
    sides: list[Side], workloads: list[Workload], concurrency: int, seconds: float, rounds: int
) -> dict[tuple[str, str], Tally]:
    """Each workload on every side in turn: a warm-up slice each, then ``rounds`` slices each,
    alternating, so background load on the machine hits every side alike."""
    tallies = {(w.name, side.name): Tally() for w in workloads for side in sides}
    for workload in workloads:
        for side in sides:  # warm-up: caches, connections, JIT
            run_slice(side, workload, concurrency, min(1.0, seconds), Tally())
        for _ in range(rounds):
            for side in sides:
                run_slice(side, workload, concurrency, seconds, tallies[workload.name, side.name])
    return tallies


# -- the command -----------------------------------------------------------------------------


def ensure_tenant(args: argparse.Namespace) -> Path:
    path: Path = args.database or args.data_dir / f"bench-{args.orders}.db"
    if not path.exists():
        from demo.tenants import seed_database

        print(f"generating a tenant of {args.orders} orders into {path} ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        today = datetime.now(UTC).date()
        seed_database(
            f"sqlite:///{partial.resolve()}", seed=1, orders=args.orders, today=today, progress=True
        )
        partial.rename(path)
    return path.resolve()


def postgres_dsn(url: str) -> str:
    """DBHub's DSN for the same PostgreSQL database (it reads the tenant in place)."""
    parsed = sa.make_url(url)
    auth = parsed.username + (f":{parsed.password}" if parsed.password else "") if parsed.username else ""
    host = f"{parsed.host or '127.0.0.1'}:{parsed.port or 5432}"
    return f"postgres://{auth}@{host}/{parsed.database}?sslmode=disable"


def copy_for_dbhub(tenant: Path, data_dir: Path) -> Path:
    with sa.create_engine(f"sqlite:///{tenant}").connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy holds every row
    copy = data_dir / f"{tenant.stem}-dbhub.db"
    if not copy.exists() or copy.stat().st_mtime < tenant.stat().st_mtime:
        shutil.copyfile(tenant, copy)
    return copy.resolve()


OURS = "ours (asstio-mcp)"


def ours_name(workers: int) -> str:
    return OURS if workers == 1 else f"ours, {workers} workers"


def report(sides: list[Side], workloads: list[Workload], tallies: dict[tuple[str, str], Tally]) -> None:
    mine = [side for side in sides if side.name.startswith("ours")]
    others = [side for side in sides if side not in mine]
    for workload in workloads:
        print(f"\n{workload.name}: {workload.tool} {json.dumps(workload.args, ensure_ascii=False)}")
        for side in sides:
            tally = tallies[workload.name, side.name]
            errors = f"  errors {tally.errors}" if tally.errors else ""
            print(f"  {side.name:<26} {tally.line()}{errors}")
        for ours in mine:
            tally = tallies[workload.name, ours.name]
            label = "ours" if len(mine) == 1 else ours.name
            for side in others:
                other = tallies[workload.name, side.name]
                if tally.calls and other.calls:
                    ratio = (tally.calls / tally.seconds) / (other.calls / other.seconds)
                    cpu = (tally.cpu / tally.calls) / max(other.cpu / other.calls, 1e-9)
                    print(f"  {label} / {side.name:<19} throughput {ratio:5.2f}x   CPU per call {cpu:5.2f}x")


def machine() -> str:
    node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}, Node {node}"
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dbhub", description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, help="a SQLite tenant file (else generated into --data-dir)")
    parser.add_argument("--database-url", help="a PostgreSQL tenant instead (DBHub reads it in place)")
    parser.add_argument(
        "--orders", type=int, default=1_000_000, help="orders to generate when there is no file"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".asstio"))
    parser.add_argument(
        "--concurrency", default="8", help="concurrent callers; a list (1,8) runs the workloads at each"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="our server's worker processes (serve --workers); a list (1,2) serves each beside the others",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one slice")
    parser.add_argument("--rounds", type=int, default=3, help="slices per side and workload")
    parser.add_argument("--only", help="run the workloads whose name contains this text")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL DBHub runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.database_url:
        url, name = args.database_url, sa.make_url(args.database_url).database or "postgresql"
        upgrade(url)  # a tenant made by an older version: the indexes and kept sums it lacks
        dsn = postgres_dsn(url)
    else:
        tenant = ensure_tenant(args)
        url, name = f"sqlite:///{tenant}", tenant.name
        upgrade(url)  # before DBHub's copy is made: the same data on both sides
        dsn = f"sqlite://{copy_for_dbhub(tenant, args.data_dir)}"  # sqlite:// + /absolute/path
    workloads = [w for w in sample_workloads(url) if not args.only or args.only in w.name]
    attach_dbhub_sql(url, workloads)
    workers = [int(n) for n in str(args.workers).split(",")]
    concurrencies = [int(n) for n in str(args.concurrency).split(",")]
    with ExitStack() as stack:
        servers = {
            n: stack.enter_context(served(url, args.data_dir / f"bench-server-{n}", n)) for n in workers
        }
        dbhub_url, dbhub_pid = stack.enter_context(dbhub_served(dsn, args.data_dir))
        hello_url, hello_pid = stack.enter_context(hello_served(args.data_dir))
        sides = []
        for n, server in servers.items():
            wait_until_ready(server.url, server.process)
            tokens = Tokens(server.issuer)
            sides.append(Side(ours_name(n), server.url, server.process.pid, ours, fresh_users(tokens)))
        sides += [
            Side("DBHub 1.4 execute_sql", dbhub_url, dbhub_pid, dbhub),
            Side("SDK hello-world", hello_url, hello_pid, lambda _: tools_call("hello", {})),
        ]
        for concurrency in concurrencies:
            started = time.monotonic()
            tallies = measure(sides, workloads, concurrency, args.seconds, args.rounds)
            took = time.monotonic() - started
            print(f"{name}: {concurrency} concurrent callers, {args.rounds} alternating slices of ", end="")
            print(f"{args.seconds:g} s per side and workload ({took:.0f} s in all)")
            report(sides, workloads, tallies)
            print()
            failed = [key for key, tally in tallies.items() if not tally.calls]
            if failed:
                raise SystemExit(f"no successful call for {failed}")
    if args.show_sql:
        print("DBHub's SQL per workload:")
        for workload in workloads:
            print(f"-- {workload.name}\n{workload.dbhub_sql}")
    print(machine())


def fresh_users(tokens: Tokens) -> Callable[[int], list[dict[str, str]]]:
    """``count`` bearer headers, each of a user never seen before (so the rate limiter is in
    the path but never refuses)."""
    return lambda count: [tokens.fresh() for _ in range(count)]


if __name__ == "__main__":
    main()
