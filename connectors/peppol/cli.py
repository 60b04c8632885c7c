"""``asstio-mcp import-invoice FILE... --tenant T``: received e-invoice files into a tenant's drafts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built for every command; the importer loads only when it runs
    import sqlalchemy as sa

    from connectors.peppol.store import ImportResult


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], data_dir: Path) -> None:
    about = "import Peppol BIS 3.0 / UBL 2.1 e-invoice files as purchase-invoice drafts"
    cmd = commands.add_parser(
        "import-invoice",
        help=about,
        description=about,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    cmd.add_argument("files", nargs="*", type=Path, metavar="FILE.xml")
    cmd.add_argument("--tenant", required=True, help="tenant iid (its database comes from --config)")
    cmd.add_argument("--config", type=Path, help="the server's TOML config (default: the demo's tenants)")
    cmd.add_argument("--data-dir", type=Path, default=data_dir, help="the demo's data dir (without --config)")
    cmd.add_argument("--retry-parked", action="store_true", help="try the tenant's parked documents again")
    cmd.set_defaults(run=run_import)


def tenant_url(tenant: str, config: Path | None, data_dir: Path) -> str:
    """The tenant's database URL from the server's config, or the demo tenant's SQLite file."""
    if config is not None:
        from mcp_server.settings import load_settings

        urls = load_settings(config).tenant_urls()
        if tenant not in urls:
            raise SystemExit(
                f"asstio-mcp: tenant '{tenant}' is not in {config}; known: {', '.join(sorted(urls))}"
            )
        return urls[tenant]
    path = data_dir / f"{tenant}.db"
    if not path.exists():
        raise SystemExit(
            f"asstio-mcp: no demo tenant '{tenant}' in {data_dir}; pass --config for a server's tenants"
        )
    return f"sqlite:///{path.resolve()}"


def run_import(args: argparse.Namespace) -> None:
    if not args.files and not args.retry_parked:
        raise SystemExit("asstio-mcp import-invoice: give FILE.xml arguments or --retry-parked")
    from connectors.peppol.importer import retry_parked
    from tools.db import create_tenant_engine

    engine = create_tenant_engine(tenant_url(args.tenant, args.config, args.data_dir))
    try:
        results = [(str(path), _import_file(engine, path)) for path in args.files]
        if args.retry_parked:
            results += [(f"parked #{r.inbound_id}", r) for r in retry_parked(engine)]
    finally:
        engine.dispose()
    for name, result in results:
        print(f"{name}: {describe(result)}")
    if any(result.state == "failed" for _, result in results):
        sys.exit(1)


def _import_file(engine: sa.Engine, path: Path) -> ImportResult:
    from connectors.peppol.importer import import_document
    from connectors.peppol.store import ImportResult
    from connectors.peppol.xml import MAX_DOCUMENT_BYTES, DocumentRefused, check_size

    try:
        check_size(path.stat().st_size)
        with path.open("rb") as handle:
            content = handle.read(MAX_DOCUMENT_BYTES + 1)
    except DocumentRefused as exc:
        return ImportResult(0, "failed", exc.reason, None)
    except OSError as exc:
        return ImportResult(0, "failed", f"cannot read the file: {exc.strerror}", None)
    return import_document(engine, content, source="file")


def describe(result: ImportResult) -> str:
    if result.state == "imported":
        return f"imported as draft {result.draft_id}" + (f" ({result.reason})" if result.reason else "")
    return f"{result.state}: {result.reason}"
