"""``asstio-mcp``: demo, token, seed, serve, sync (and the measuring commands)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

DEMO_AUDIENCE = "asstio-demo"
DEFAULT_DATA_DIR = Path(".asstio")
DEFAULT_DEMO_ORDERS = 20_000


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def port_number(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port between 1 and 65535, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="asstio-mcp", description=__doc__)
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=help, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )

    demo = command("demo", "generate the demo tenants on first use and serve them")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--port", type=port_number, default=8000, help="port to listen on")
    demo.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where the demo keeps its data")
    demo.add_argument("--orders", type=positive, default=DEFAULT_DEMO_ORDERS, help="orders per demo tenant")
    demo.set_defaults(run=run_demo)

    token = command("token", "print one development JWT for the running demo")
    token.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the demo's --data-dir")
    token.add_argument("--tenant", default="demo", help="tenant iid (demo or demo-b)")
    token.add_argument("--sub", default="demo-user", help="the user (sub claim)")
    token.add_argument("--ttl", type=positive, default=3600 * 12, help="lifetime in seconds")
    token.add_argument("--issuer", help="the demo's URL (default: the one the demo in --data-dir serves)")
    token.set_defaults(run=run_token)

    seed = command("seed", "write generated ERP data into any database URL")
    seed.add_argument("--database-url", required=True, help="SQLAlchemy URL of an empty database")
    seed.add_argument("--orders", type=positive, default=DEFAULT_DEMO_ORDERS, help="orders to generate")
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seed.add_argument("--currency", default="SEK", help="the tenant's home currency")
    seed.add_argument("--id-offset", type=int, default=0, help="added to every generated id")
    seed.add_argument(
        "--today", type=date.fromisoformat, default=None, help="the data's today (default: UTC today)"
    )
    seed.set_defaults(run=run_seed)

    index = command(
        "index-search", "(re)write a tenant database's search rows and indexes; keep its open balances"
    )
    index.add_argument("--database-url", required=True, help="SQLAlchemy URL of the tenant database")
    index.set_defaults(run=run_index_search)

    evaluate = command("eval-matching", "measure 3-way matching quality against generated ground truth")
    evaluate.add_argument("--database-url", help="evaluate this seeded tenant (default: a fresh one)")
    evaluate.add_argument("--lines", type=positive, default=3200, help="invoice lines to generate")
    evaluate.add_argument("--seed", type=int, default=11, help="random seed")
    evaluate.add_argument("--bench-runs", type=int, default=50, help="suggest latency runs (0: skip)")
    evaluate.set_defaults(run=run_eval_matching)

    serve = command("serve", "production: serve the tenants of a config file")
    serve.add_argument("--config", type=Path, help="TOML file; ASSTIO_* variables override it")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on")
    serve.add_argument("--port", type=port_number, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=positive, default=1, help="worker processes")
    serve.set_defaults(run=run_serve)

    sync = command("sync", "sync source-backed tenants (Fortnox, ...) into their databases")
    sync.add_argument("--config", type=Path, help="TOML file; ASSTIO_* variables override it")
    sync.add_argument("--tenant", help="only this tenant (default: every tenant with a [sources] entry)")
    when = sync.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="sync once and exit (the default)")
    when.add_argument("--every", type=float, metavar="SECONDS", help="sync, wait SECONDS, repeat")
    sync.add_argument("--full", action="store_true", help="refetch everything and notice deletions")
    sync.set_defaults(run=run_sync)

    from connectors.peppol.cli import add_command as add_import_invoice

    add_import_invoice(commands, DEFAULT_DATA_DIR)

    bench = command("bench", "throughput and latency of every list view, both doors")
    bench.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where the bench tenant is kept"
    )
    bench.add_argument("--orders", type=positive, default=1_000_000, help="orders in the bench tenant")
    bench.add_argument("--database-url", help="bench this PostgreSQL tenant (seeded if empty)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per view and door")
    bench.add_argument("--concurrency", type=positive, default=8, help="concurrent clients")
    bench.add_argument("--views", help="comma-separated view names (default: every list view)")
    bench.add_argument("--deep-page", type=positive, default=1000, help="page reached via the cursor")
    bench.add_argument("--output", type=Path, help="write the report into this file (docs/BENCHMARKS.md)")
    bench.add_argument(
        "--first-answers",
        action="store_true",
        help="only each view's first answer (cold, MCP) and warm medians, sequentially; no load",
    )
    against = bench.add_argument_group(
        "against DBHub",
        "--against-dbhub: our MCP tool calls beside DBHub 1.4 (npm ci --prefix benchmarks) and the "
        "MCP SDK's hello-world tool on the same tenant (python -m benchmarks.dbhub)",
    )
    against.add_argument("--against-dbhub", action="store_true", help="run the DBHub comparison instead")
    against.add_argument(
        "--database", type=Path, help="a SQLite tenant file (else generated into --data-dir)"
    )
    against.add_argument(
        "--rounds", type=positive, default=3, help="alternating slices per side and workload"
    )
    against.add_argument("--workers", default="1", help="our worker processes; a list (1,2) runs each")
    against.add_argument("--concurrencies", help="a list of concurrencies (1,8) instead of --concurrency")
    against.add_argument("--only", help="only the workloads whose name contains this text")
    against.add_argument("--show-sql", action="store_true", help="print the SQL DBHub runs")

    def run_bench(args: argparse.Namespace) -> None:
        if args.against_dbhub:
            from benchmarks.dbhub import main as against_dbhub

            against_dbhub(dbhub_argv(args))
            return
        from benchmarks.doors import run_bench

        run_bench(args)

    bench.set_defaults(run=run_bench)
    return top


def dbhub_argv(args: argparse.Namespace) -> list[str]:
    """``bench --against-dbhub``'s options as ``python -m benchmarks.dbhub`` takes them: the
    ``--duration`` per side and workload is split into ``--rounds`` alternating slices."""
    argv = ["--data-dir", str(args.data_dir), "--orders", str(args.orders)]
    argv += ["--seconds", f"{args.duration / args.rounds:g}", "--rounds", str(args.rounds)]
    argv += ["--concurrency", args.concurrencies or str(args.concurrency), "--workers", args.workers]
    if args.database_url:
        argv += ["--database-url", args.database_url]
    if args.database:
        argv += ["--database", str(args.database)]
    if args.only:
        argv += ["--only", args.only]
    if args.show_sql:
        argv.append("--show-sql")
    return argv


def _today() -> date:
    return datetime.now(UTC).date()


def run_seed(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from demo.generate import DemoDataExists
    from demo.tenants import seed_database

    try:
        seed_database(
            args.database_url,
            seed=args.seed,
            orders=args.orders,
            today=args.today or _today(),
            currency=args.currency,
            id_offset=args.id_offset,
            progress=args.orders >= 50_000,
        )
    except (DemoDataExists, ValueError, sa.exc.ArgumentError, sa.exc.OperationalError) as exc:
        raise SystemExit(f"asstio-mcp seed: {exc}") from exc
    print(f"seeded {args.orders} orders into {_redacted(args.database_url)}", file=sys.stderr)


def run_index_search(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from tools.balances import install_on
    from tools.search import build_search

    engine = sa.create_engine(args.database_url)
    try:
        with engine.begin() as conn:
            build_search(conn, rewrite=True)
        upgraded = install_on(engine)  # Orders.PaidAmount kept by triggers, set once from the payments
    finally:
        engine.dispose()
    print(f"indexed the search text of {_redacted(args.database_url)}")
    if upgraded:
        print("the open balance of every document is now kept by the database (Orders.PaidAmount)")


def _redacted(url: str) -> str:
    """The URL without its password or any secret in its query."""
    from tools.redact import redacted_url

    return redacted_url(url)


def demo_state(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "demo.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def ensure_demo_data(data_dir: Path, orders: int) -> dict[str, str]:
    """The demo tenants' SQLite files, generated on first use."""
    from demo.tenants import DEMO_TENANTS, seed_database

    data_dir.mkdir(parents=True, exist_ok=True)
    urls = {}
    for tenant in DEMO_TENANTS:
        path = (data_dir / f"{tenant.iid}.db").resolve()
        if not path.exists():
            print(f"generating tenant {tenant.iid} ({orders} orders) ...", file=sys.stderr)
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            seed_database(
                f"sqlite:///{partial}",
                seed=tenant.seed,
                orders=orders,
                today=_today(),
                currency=tenant.currency,
                id_offset=tenant.id_offset,
                progress=orders >= 50_000,
            )
            partial.rename(path)
        else:
            _make_searchable(f"sqlite:///{path}")  # demo data made before search had tables
        urls[tenant.iid] = f"sqlite:///{path}"
    return urls


def _make_searchable(url: str) -> None:
    """Upgrade demo data made by an older version: search tables, kept balances."""
    import sqlalchemy as sa

    from tools.balances import install
    from tools.search import build_search

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            build_search(conn)
            install(conn)  # Orders.PaidAmount and its triggers, in data made before them
    finally:
        engine.dispose()


def demo_settings(data_dir: Path, public_url: str, tenants: dict[str, str]) -> Any:
    from demo.tenants import DEMO_TENANTS
    from mcp_server.settings import Settings

    return Settings(
        tenants=tenants,
        public_url=public_url,
        issuers=[public_url],
        audience=DEMO_AUDIENCE,
        dev_issuer_dir=data_dir,
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        home_currency={tenant.iid: tenant.currency for tenant in DEMO_TENANTS},
    )


def run_demo(args: argparse.Namespace) -> None:
    import uvicorn

    from demo.dev_issuer import DevIssuer
    from mcp_server.app import build_app

    public_url = f"http://{args.host}:{args.port}"
    tenants = ensure_demo_data(args.data_dir, args.orders)
    state = {"issuer": public_url, "audience": DEMO_AUDIENCE, "tenants": sorted(tenants)}
    (args.data_dir / "demo.json").write_text(json.dumps(state))
    issuer = DevIssuer.load_or_create(args.data_dir, public_url)
    token = issuer.mint(tenant="demo", sub="demo-user", ttl_seconds=12 * 3600, audience=DEMO_AUDIENCE)
    print(demo_banner(public_url, token), file=sys.stderr)
    app = build_app(demo_settings(args.data_dir, public_url, tenants))
    uvicorn.run(app, **uvicorn_options(args.host, args.port))


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    from mcp_server.serving import KEEP_ALIVE_SECONDS, HeaderDeadlineProtocol

    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "http": HeaderDeadlineProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def demo_banner(public_url: str, token: str) -> str:
    snippet = {
        "mcpServers": {
            "asstio": {
                "command": "npx",
                "args": ["-y", "mcp-remote", f"{public_url}/mcp", "--header", "Authorization:${ASSTIO_AUTH}"],
                "env": {"ASSTIO_AUTH": f"Bearer {token}"},
            }
        }
    }
    return "\n".join(
        [
            "asstio-mcp demo is serving tenants demo (SEK) and demo-b (EUR)",
            f"  MCP:      {public_url}/mcp",
            f"  REST:     {public_url}/api/v1/customers",
            f"  Token:    {token}",
            "  (tenant demo, 12 hours; another: asstio-mcp token --tenant demo-b)",
            "",
            "Claude Desktop (claude_desktop_config.json):",
            json.dumps(snippet, indent=2),
            "",
            f"Try: curl -H 'Authorization: Bearer {token}' '{public_url}/api/v1/customers?pageSize=3'",
        ]
    )


def run_eval_matching(args: argparse.Namespace) -> None:
    import tempfile

    import sqlalchemy as sa

    from benchmarks.matching import bench_suggest
    from benchmarks.matching_quality import evaluate, format_report
    from demo.tenants import seed_database
    from tools.matching.models import Tolerances

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'eval.db'}"
            print(f"generating {args.lines} invoice lines (seed {args.seed}) ...", file=sys.stderr)
            seed_database(url, seed=args.seed, orders=3000, today=_today(), draft_lines=args.lines)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            print(format_report(evaluate(conn, Tolerances())))
        engine.dispose()
    if args.bench_runs:
        print(bench_suggest(runs=args.bench_runs).format())


def run_token(args: argparse.Namespace) -> None:
    from demo.dev_issuer import DevIssuer

    if not args.data_dir.is_dir():
        raise SystemExit(
            f"asstio-mcp token: no demo data in {args.data_dir}: pass the --data-dir the demo was "
            "started with (asstio-mcp demo --data-dir DIR)"
        )
    issuer_url = args.issuer or demo_state(args.data_dir).get("issuer", "http://127.0.0.1:8000")
    issuer = DevIssuer.load_or_create(args.data_dir, issuer_url)
    print(issuer.mint(tenant=args.tenant, sub=args.sub, ttl_seconds=args.ttl, audience=DEMO_AUDIENCE))


def run_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from mcp_server.settings import load_settings

    settings = load_settings(args.config)
    print(startup_line(settings, args.host, args.port, args.workers), file=sys.stderr, flush=True)
    if args.workers > 1:
        if args.config:
            import os

            os.environ["ASSTIO_CONFIG"] = str(args.config)
        from mcp_server.workers import serve_workers

        serve_workers({"app": "mcp_server.asgi:app", **uvicorn_options(args.host, args.port)}, args.workers)
        return
    from mcp_server.app import build_app

    uvicorn.run(build_app(settings), **uvicorn_options(args.host, args.port))


def startup_line(settings: Any, host: str, port: int, workers: int) -> str:
    tenants = sorted(settings.tenant_urls())
    shown = ", ".join(tenants[:10]) + (f" and {len(tenants) - 10} more" if len(tenants) > 10 else "")
    return (
        f"asstio-mcp serving on http://{host}:{port} ({workers} worker{'s' if workers > 1 else ''}); "
        f"MCP at {settings.mcp_url}; {len(tenants)} tenant{'s' if len(tenants) != 1 else ''}: {shown}; "
        f"rate limit {settings.rate_limit_per_minute}/min in {_redacted(settings.rate_limit_storage)}"
    )


def run_sync(args: argparse.Namespace) -> None:
    import signal
    import threading

    from connectors.core.errors import ConnectorError
    from connectors.core.worker import SyncPlan, load_secrets, sync_forever, sync_once
    from mcp_server.settings import load_settings

    settings = load_settings(args.config)
    try:
        plan = SyncPlan(
            settings.sources,
            settings.tenant_urls(),
            load_secrets(settings.secrets_file),
            settings.rate_limit_storage,
        )
        tenants = plan.tenants(args.tenant)
    except ConnectorError as exc:
        raise SystemExit(f"asstio-mcp sync: {exc}") from exc
    if args.every is None:
        if not sync_once(plan, tenants, full=args.full):
            raise SystemExit(1)
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sync_forever(plan, tenants, args.every, full=args.full, stop=stop)
