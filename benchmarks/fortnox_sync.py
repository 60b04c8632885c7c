"""Measure a first full Fortnox sync and an incremental one against the tests' Fortnox double.

    python -m benchmarks.fortnox_sync --orders 8300 [--validate] [--database-url URL]

The double (tests/fortnox_double) is made from the demo generator's data; by default it runs
without its rate limit and without checking responses against the OpenAPI description, so the
figures are the connector's own cost; the time under Fortnox's limit is estimated from the
request count (the client's limit is the connector's default, 24 requests per 5 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.sync_report import machine_line, run_line
from connectors.fortnox.source import RATE_LIMIT
from tests.fortnox_double.server import FortnoxDouble, serve
from tests.fortnox_support import demo_fortnox_data, sync_into

LIMITED_RATE = 24 / 5  # requests per second under the connector's default limit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=8300, help="demo orders behind the double")
    parser.add_argument("--changes", type=int, default=100, help="invoices edited before the incremental run")
    parser.add_argument("--validate", action="store_true", help="check every response against the spec")
    parser.add_argument("--database-url", help="sync into this (empty) database instead of a SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    data = demo_fortnox_data(tmp, args.orders, seed=1)
    running = serve(FortnoxDouble(data, rate=10**9, validate=args.validate))
    url = args.database_url or f"sqlite:///{tmp / 'tenant.db'}"
    unlimited = "1000000/5 seconds"
    try:
        first = timed(lambda: sync_into(url, running, tenant="bench", rate_limit=unlimited))
        invoices = sorted(data.invoices, key=int)[: args.changes]
        for number in invoices:
            data.invoices[number]["YourReference"] = "changed"
            running.double.touch("invoices", number)
        second = timed(lambda: sync_into(url, running, tenant="bench", rate_limit=unlimited))
    finally:
        running.stop()
    print(report(args, data.documents(), first, second))


def timed(sync: object) -> tuple[int, int, float]:
    started = time.perf_counter()
    result = sync()  # type: ignore[operator]
    return sum(result.written.values()), result.requests, time.perf_counter() - started


def report(
    args: argparse.Namespace, documents: int, first: tuple[int, int, float], second: tuple[int, int, float]
) -> str:
    lines = [
        f"double: {documents} documents (orders, invoices, payments, purchase orders, incoming goods, "
        f"supplier invoices and their payments) from {args.orders} demo orders; responses checked "
        f"against the spec: {args.validate}",
        "run          objects  requests  seconds  req/s  est. seconds at 24 req/5 s",
    ]
    for name, (objects, requests, seconds) in (("first full", first), ("incremental", second)):
        lines.append(run_line(name, objects, requests, seconds, LIMITED_RATE, width=12, digits=1))
    lines.append(machine_line(RATE_LIMIT))
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
