"""``asstio-mcp bench`` on a tiny tenant: a smoke test of the command, not a timed test."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from mcp_server.cli import main

VIEWS = ("customers", "sales-orders", "open-order-lines")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("bench")
    output = root / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nNotes written by hand stay.\n")
    argv = ["bench", "--data-dir", str(root), "--orders", "3000", "--duration", "0.5"]
    argv += ["--concurrency", "2", "--deep-page", "3", "--views", ",".join(VIEWS), "--output", str(output)]
    with redirect_stdout(io.StringIO()) as stdout:
        main(argv)
    return stdout.getvalue(), output


def rows(report: str, view: str) -> list[list[str]]:
    lines = [line for line in report.splitlines() if line.startswith(f"| {view} |")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_report_names_the_machine_and_the_command(bench_run: tuple[str, Path]) -> None:
    report, _ = bench_run
    machine = next(line for line in report.splitlines() if line.startswith("- Machine: "))
    assert re.search(r"\d+ cores", machine)
    assert "Python 3." in machine and "SQLAlchemy 2." in machine and "SQLite 3." in machine
    assert "asstio-mcp bench --orders 3000" in report


def test_every_view_is_measured_through_both_doors_without_errors(bench_run: tuple[str, Path]) -> None:
    report, _ = bench_run
    assert "| view | door | req/s | p50 ms | p99 ms | errors | MCP/REST |" in report
    for view in VIEWS:
        rest, mcp, paging = rows(report, view)
        assert rest[1] == "REST" and mcp[1] == "MCP"
        assert float(rest[2].replace(",", "")) > 0 and float(mcp[2].replace(",", "")) > 0
        assert rest[5] == mcp[5] == "0"
        assert float(mcp[6]) > 0
        assert float(paging[4]) > 0 and paging[6] == "0"


def test_the_limiter_stays_in_the_path_and_never_refuses(bench_run: tuple[str, Path]) -> None:
    report, _ = bench_run
    assert re.search(r"rotated over \d+ users \(50 calls each\), so it refused 0 calls", report)


def test_the_deep_page_is_reached_by_walking_the_cursor(bench_run: tuple[str, Path]) -> None:
    report, _ = bench_run
    assert rows(report, "sales-orders")[2][1] == "3"


def test_the_output_file_keeps_its_notes_and_gets_the_report(bench_run: tuple[str, Path]) -> None:
    report, output = bench_run
    text = output.read_text()
    assert "Notes written by hand stay." in text
    assert "<!-- bench:sqlite:start -->" in text and "<!-- bench:sqlite:end -->" in text
    assert report.strip() in text


def test_the_question_filters_are_benched_as_runs_of_their_own(bench_run: tuple[str, Path]) -> None:
    report, _ = bench_run
    rest, mcp, paging = rows(report, "open-order-lines isLate=true")
    assert (rest[1], mcp[1]) == ("REST", "MCP") and rest[5] == mcp[5] == "0"
    assert float(paging[4]) > 0 and paging[6] == "0"


def test_first_answers_are_measured_on_a_fresh_server_per_view(bench_run: tuple[str, Path]) -> None:
    _, output = bench_run
    argv = ["bench", "--first-answers", "--data-dir", str(output.parent), "--orders", "3000"]
    argv += ["--views", "receivables,vendor-prices", "--output", str(output)]
    with redirect_stdout(io.StringIO()) as stdout:
        main(argv)
    report = stdout.getvalue()
    assert "| view | first ms (MCP) | server CPU ms (first) | warm MCP ms | warm REST ms | ok |" in report
    for view in (
        "receivables",
        "receivables overdueMin=10000",
        "vendor-prices",
        "vendor-prices validFirst=true",
    ):
        (row,) = rows(report, view)
        assert float(row[1]) > 0 and float(row[3]) > 0 and float(row[4]) > 0 and row[5] == "yes"
    assert re.search(r"Target: every first answer under 1 s: \d+/5 views", report)
    text = output.read_text()
    assert "<!-- first:sqlite:start -->" in text and report.strip() in text
    assert "<!-- bench:sqlite:start -->" in text  # the load run's section stays
