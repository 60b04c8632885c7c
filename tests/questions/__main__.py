"""``python -m tests.questions [--postgres] [--verbose]``: seeds the two demo tenants, serves
them, asks every question through the official MCP client and prints per question the calls,
the tokens of tool text and whether the answer matched the suite's own SQL."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from tests.questions.run import Outcome, ask_all, explain, report
from tests.support import postgres_database, seed_demo_tenants, start_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.questions", description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (127.0.0.1:5432)")
    parser.add_argument("--verbose", action="store_true", help="expected and given answers of every question")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for chatty in ("httpx", "httpx2", "mcp"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        backends = {"sqlite": {iid: f"sqlite:///{tmp}/{iid}.db" for iid in ("demo", "demo-b")}}
        if args.postgres:
            backends["postgres"] = {
                iid: stack.enter_context(postgres_database(iid)) for iid in ("demo", "demo-b")
            }
        for backend, urls in backends.items():
            seed_demo_tenants(urls)
            server = start_server(Path(tmp) / f"server-{backend}", urls, log_level="WARNING")
            try:
                for tenant, url in urls.items():
                    outcomes += asyncio.run(ask_all(server, backend, tenant, url))
            finally:
                server.stop()
    print(report(outcomes))
    for outcome in outcomes:
        if args.verbose or not outcome.answered:
            print(explain(outcome))
    sys.exit(0 if all(o.answered for o in outcomes) else 1)


if __name__ == "__main__":
    main()
