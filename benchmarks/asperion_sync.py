"""Measure Asperion syncs against the tests' Asperion double: a first sync, a run with nothing
changed, then a run after edits and deletions (every run lists everything and reconciles, since
Asperion offers no modification filter), each repeated into fresh databases; medians printed
side by side.

    python -m benchmarks.asperion_sync --sales 4000 --purchases 1000 --orders 1000 [--repeat 3]

The double (tests/asperion_double, a loopback HTTP server in the same process) serves one
administration; the client runs without its rate limit, so the figures are the connector's own
cost, and the time under the connector's default limit (5 requests/s) is estimated from the
request count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.sync_report import machine_line, run_line
from connectors.asperion.source import RATE_LIMIT
from connectors.core import SourceSettings
from tests.asperion_double import AsperionDouble, make_administration, serve
from tests.source_support import sync_once, tenant_secrets
from tests.support import TODAY

LIMITED_RATE = 5.0  # requests per second under the connector's default limit


@dataclass
class Run:
    objects: int
    requests: int
    seconds: float


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sales", type=int, default=4000, help="sales invoices in the administration")
    parser.add_argument("--purchases", type=int, default=1000, help="purchase invoices")
    parser.add_argument("--orders", type=int, default=1000, help="sales orders")
    parser.add_argument("--changes", type=int, default=100, help="invoices edited and deleted before run 2")
    parser.add_argument("--repeat", type=int, default=3, help="fresh databases synced, for the medians")
    args = parser.parse_args(argv)
    runs: list[tuple[Run, Run, Run]] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [once(args, Path(tmp) / f"tenant-{n}.db") for n in range(args.repeat)]
    print(report(args, runs))


def once(args: argparse.Namespace, path: Path) -> tuple[Run, Run, Run]:
    adm = make_administration(
        "1001", "Bakkerij", 11, TODAY, sales=args.sales, purchases=args.purchases, orders=args.orders
    )
    double = AsperionDouble([adm], TODAY)
    database = f"sqlite:///{path}"
    secrets = tenant_secrets(
        "bench", {"refresh_token": double.grant("bench"), "encryption_key": Fernet.generate_key().decode()}
    )
    with serve(double) as url:
        settings = SourceSettings(
            kind="asperion",
            base_url=url,
            token_url=url + "/connect/token",
            client_id=double.client_id,
            administration="1001",
            rate_limit="1000000/second",
        )
        a = timed(lambda: sync_once(database, "bench", settings, secrets))
        same = timed(lambda: sync_once(database, "bench", settings, secrets))
        for invoice in adm.sales_invoices[: args.changes]:
            invoice["description"] = "changed"
        del adm.sales_invoices[-args.changes :]
        b = timed(lambda: sync_once(database, "bench", settings, secrets))
    return a, same, b


def timed(sync: object) -> Run:
    started = time.perf_counter()
    result = sync()  # type: ignore[operator]
    return Run(sum(result.written.values()), result.requests, time.perf_counter() - started)


def report(args: argparse.Namespace, runs: list[tuple[Run, Run, Run]]) -> str:
    lines = [
        f"double: one administration, {args.sales} sales invoices, {args.purchases} purchase invoices, "
        f"{args.orders} sales orders; the last run after {args.changes} invoices edited and "
        f"{args.changes} deleted; "
        f"medians of {args.repeat} fresh databases",
        "run                  objects  requests  seconds  req/s  est. seconds at 5 req/s",
    ]
    medians = {}
    for column, name in enumerate(("first", "nothing changed", "edits+deletions")):
        these = [run[column] for run in runs]
        objects = int(statistics.median(r.objects for r in these))
        requests = int(statistics.median(r.requests for r in these))
        seconds = statistics.median(r.seconds for r in these)
        medians[name] = seconds
        lines.append(run_line(name, objects, requests, seconds, LIMITED_RATE, width=20, digits=2))
    for name in ("nothing changed", "edits+deletions"):
        lines.append(f"ratio {name}/first seconds: {medians[name] / medians['first']:.2f}")
    lines.append(machine_line(RATE_LIMIT))
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
