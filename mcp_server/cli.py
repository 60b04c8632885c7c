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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="asstio-mcp", description=__doc__)
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="generate the demo tenants on first use and serve them")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    demo.add_argument("--orders", type=int, default=DEFAULT_DEMO_ORDERS)
    demo.set_defaults(run=run_demo)

    token = commands.add_parser("token", help="print one development JWT for the demo")
    token.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    token.add_argument("--tenant", default="demo")
    token.add_argument("--sub", default="demo-user")
    token.add_argument("--ttl", type=int, default=3600 * 12, help="seconds (default 12 hours)")
    token.add_argument("--issuer", help="the demo's URL (default: the one the demo last served)")
    token.set_defaults(run=run_token)

    seed = commands.add_parser("seed", help="write generated ERP data into any database URL")
    seed.add_argument("--database-url", required=True)
    seed.add_argument("--orders", type=int, default=DEFAULT_DEMO_ORDERS)
    seed.add_argument("--seed", type=int, default=1)
    seed.add_argument("--currency", default="SEK")
    seed.add_argument("--id-offset", type=int, default=0)
    seed.add_argument("--today", type=date.fromisoformat, default=None)
    seed.set_defaults(run=run_seed)

    evaluate = commands.add_parser(
        "eval-matching", help="measure 3-way matching quality against generated ground truth"
    )
    evaluate.add_argument("--database-url", help="evaluate this seeded tenant (default: a fresh one)")
    evaluate.add_argument("--lines", type=int, default=3200, help="invoice lines to generate")
    evaluate.add_argument("--seed", type=int, default=11)
    evaluate.add_argument("--bench-runs", type=int, default=50, help="suggest latency runs (0: skip)")
    evaluate.set_defaults(run=run_eval_matching)

    serve = commands.add_parser("serve", help="production: serve the tenants of a config file")
    serve.add_argument("--config", type=Path, help="TOML file; ASSTIO_* variables override it")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=run_serve)

    sync = commands.add_parser("sync", help="sync source-backed tenants (Fortnox, ...) into their databases")
    sync.add_argument("--config", type=Path, help="TOML file; ASSTIO_* variables override it")
    sync.add_argument("--tenant", help="only this tenant (default: every tenant with a [sources] entry)")
    when = sync.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="sync once and exit (the default)")
    when.add_argument("--every", type=float, metavar="SECONDS", help="sync, wait SECONDS, repeat")
    sync.add_argument("--full", action="store_true", help="refetch everything and notice deletions")
    sync.set_defaults(run=run_sync)

    bench = commands.add_parser("bench", help="throughput and latency of every list view, both doors")
    bench.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    bench.add_argument("--orders", type=int, default=1_000_000)
    bench.add_argument("--database-url", help="bench this PostgreSQL tenant (seeded if empty)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per view and door")
    bench.add_argument("--concurrency", type=int, default=8)
    bench.add_argument("--views", help="comma-separated view names (default: every list view)")
    bench.add_argument("--deep-page", type=int, default=1000, help="page reached via the cursor")
    bench.add_argument("--output", type=Path, help="write the report into this file (docs/BENCHMARKS.md)")

    def run_bench(args: argparse.Namespace) -> None:
        from benchmarks.doors import run_bench

        run_bench(args)

    bench.set_defaults(run=run_bench)
    return top


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


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


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
        urls[tenant.iid] = f"sqlite:///{path}"
    return urls


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
    (args.data_dir / "demo.json").write_text(json.dumps({"issuer": public_url}))
    issuer = DevIssuer.load_or_create(args.data_dir, public_url)
    token = issuer.mint(tenant="demo", sub="demo-user", ttl_seconds=12 * 3600, audience=DEMO_AUDIENCE)
    print(demo_banner(public_url, token), file=sys.stderr)
    app = build_app(demo_settings(args.data_dir, public_url, tenants))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def demo_banner(public_url: str, token: str) -> str:
    snippet = {
        "mcpServers": {
            "asstio": {
                "command": "npx",
                "args": ["-y", "mcp-remote", f"{public_url}/mcp", "--header", "Authorization:${AUTH}"],
                "env": {"AUTH": f"Bearer {token}"},
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
            f"Try: curl -H 'Authorization: Bearer {token[:12]}...' {public_url}/api/v1/customers",
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

    issuer_url = args.issuer or demo_state(args.data_dir).get("issuer", "http://127.0.0.1:8000")
    issuer = DevIssuer.load_or_create(args.data_dir, issuer_url)
    print(issuer.mint(tenant=args.tenant, sub=args.sub, ttl_seconds=args.ttl, audience=DEMO_AUDIENCE))


def run_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from mcp_server.settings import load_settings

    settings = load_settings(args.config)
    if args.workers > 1:
        if args.config:
            import os

            os.environ["ASSTIO_CONFIG"] = str(args.config)
        uvicorn.run(
            "mcp_server.asgi:app", host=args.host, port=args.port, workers=args.workers, log_level="warning"
        )
        return
    from mcp_server.app import build_app

    uvicorn.run(build_app(settings), host=args.host, port=args.port, log_level="warning")


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
