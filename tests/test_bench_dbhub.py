"""``python -m benchmarks.dbhub`` on a tiny tenant: a smoke test of the command, not a timed test."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest

from benchmarks import dbhub
from demo.tenants import seed_database
from tests.support import TODAY, require_service

SIDES = ("ours (asstio-mcp)", "DBHub 1.4 execute_sql", "SDK hello-world")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    require_service("DBHub (npm ci --prefix benchmarks)", dbhub.DBHUB.exists() and dbhub.NODE.exists())
    root = tmp_path_factory.mktemp("dbhub")
    tenant = root / "tiny.db"
    seed_database(f"sqlite:///{tenant}", seed=3, orders=400, today=TODAY, draft_lines=20)
    argv = ["--database", str(tenant), "--data-dir", str(root), "--seconds", "0.3", "--rounds", "1"]
    with redirect_stdout(io.StringIO()) as stdout:
        dbhub.main([*argv, "--concurrency", "2", "--show-sql"])
    return stdout.getvalue()


def test_every_side_answers_every_workload_with_its_rate_latency_and_cpu(report: str) -> None:
    for workload in ("sales orders, first page", "one customer", "find_products", "q free text"):
        block = report.split(f"\n{workload}")[1].split("\n\n")[0]
        for side in SIDES:
            line = next(line for line in block.splitlines() if line.strip().startswith(side))
            assert re.search(r"[\d.]+ calls/s +p50 +[\d.]+ ms +p99 +[\d.]+ ms +CPU/call +[\d.]+ ms$", line), (
                line
            )
        assert "ours / DBHub 1.4 execute_sql throughput" in block


def test_dbhub_runs_our_captured_sql_and_the_like_search(report: str) -> None:
    sql = report.split("DBHub's SQL per workload:")[1]
    assert 'FROM "Orders" LEFT OUTER JOIN "Company" AS party' in sql
    assert 'lower("Orders"."Name") LIKE' in sql and 'lower("Product"."Description") LIKE' in sql
    assert "?" not in sql.split("-- one customer")[1].split("-- find_products")[0]


def test_the_report_names_the_machine(report: str) -> None:
    machine = report.strip().splitlines()[-1]
    assert re.match(r"machine: .+, \d+ CPUs, Python 3\.\d+\.\d+, SQLite 3\.\d+\.\d+, .+Node v22\.", machine)


def test_the_cli_runs_it_with_worker_and_concurrency_lists(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``asstio-mcp bench --against-dbhub``: our server once per worker count, each a side of
    its own, and the workloads at each concurrency, in one output."""
    from mcp_server.cli import main as cli

    require_service("DBHub (npm ci --prefix benchmarks)", dbhub.DBHUB.exists() and dbhub.NODE.exists())
    root = tmp_path_factory.mktemp("dbhub-cli")
    tenant = root / "tiny.db"
    seed_database(f"sqlite:///{tenant}", seed=4, orders=300, today=TODAY, draft_lines=10)
    argv = ["bench", "--against-dbhub", "--database", str(tenant), "--data-dir", str(root)]
    argv += ["--duration", "0.6", "--rounds", "2", "--workers", "1,2", "--concurrencies", "1,3"]
    with redirect_stdout(io.StringIO()) as stdout:
        cli([*argv, "--only", "one customer"])
    report = stdout.getvalue()
    blocks = [block for block in report.split("tiny.db: ")[1:]]
    assert [block.split(" concurrent callers")[0] for block in blocks] == ["1", "3"]
    for block in blocks:
        for side in ("ours (asstio-mcp)", "ours, 2 workers", "DBHub 1.4 execute_sql", "SDK hello-world"):
            assert re.search(rf"\n  {re.escape(side)} +[\d.]+ calls/s", block), (side, block)
        assert "ours, 2 workers / DBHub 1.4 execute_sql throughput" in block
        assert "find_products" not in block
