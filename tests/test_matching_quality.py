"""Matching quality on the demo's generated drafts (ground truth in ``DemoMatchTruth``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.matching_quality import EvalReport, evaluate, format_report
from demo.drafts import write_drafts
from demo.generate import generate
from demo.truth import demo_match_truth
from tools import schema as s
from tools.matching.models import Tolerances

TODAY = date(2026, 11, 20)
LINES = 3000


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('quality') / 'tenant.db'}")
    generate(engine, seed=11, orders=1500, today=TODAY, default_currency="SEK")
    with engine.begin() as conn:
        write_drafts(conn, seed=11, today=TODAY, id_offset=0, lines_target=LINES)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def report(tenant: sa.Engine) -> EvalReport:
    with tenant.connect() as conn:
        report = evaluate(conn, Tolerances())
    print(format_report(report))
    return report


def test_the_generated_set_has_every_scenario_over_three_thousand_lines(report: EvalReport) -> None:
    assert report.overall.lines >= LINES
    assert set(report.scenarios) == {
        "exact", "split_delivery", "consolidated", "price_drift_inside", "price_drift_outside", "qty_short",
        "qty_over", "late_receipt", "decoy_po", "vendor_sku_typo", "extra_charge", "no_receipt_yet",
    }  # fmt: skip


def test_auto_eligible_candidates_are_true_receipts_at_least_995_in_1000(report: EvalReport) -> None:
    assert report.overall.precision is not None and report.overall.precision >= 0.995


def test_a_true_receipt_is_among_the_top_five_for_99_percent_of_lines(report: EvalReport) -> None:
    assert report.overall.recall5_rate is not None and report.overall.recall5_rate >= 0.99


def test_the_top_candidate_is_a_true_receipt_for_95_percent_of_lines(report: EvalReport) -> None:
    assert report.overall.top1_rate is not None and report.overall.top1_rate >= 0.95


def test_every_candidate_is_auto_eligible_exactly_when_its_figures_say_so(report: EvalReport) -> None:
    assert report.overall.inconsistent == 0


def test_lines_with_nothing_to_match_are_rarely_auto_matched(report: EvalReport) -> None:
    assert report.scenarios["extra_charge"].false_auto_lines == 0
    assert report.overall.false_auto_lines <= report.overall.lines_without_truth * 0.01


def test_draft_totals_are_the_sums_of_their_lines(tenant: sa.Engine) -> None:
    d, dl = s.purchase_invoice_drafts, s.purchase_invoice_draft_lines
    sums = (
        sa.select(dl.c.DraftId, sa.func.sum(dl.c.TotalExVat).label("Lines")).group_by(dl.c.DraftId).subquery()
    )
    with tenant.connect() as conn:
        rows = conn.execute(
            sa.select(d.c.TotalExVat, d.c.TotalVat, d.c.TotalIncVat, sums.c.Lines).join(
                sums, sums.c.DraftId == d.c.Id
            )
        ).all()
    assert rows
    for total, vat, inc_vat, lines in rows:
        assert Decimal(total) == Decimal(str(lines)).quantize(Decimal("0.01"))
        assert Decimal(inc_vat) == Decimal(total) + Decimal(vat)


def test_the_drafts_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    def truth(name: str) -> list[tuple[object, ...]]:
        engine = sa.create_engine(f"sqlite:///{tmp_path / name}")
        generate(engine, seed=5, orders=300, today=TODAY, default_currency="EUR", id_offset=1000)
        with engine.begin() as conn:
            write_drafts(conn, seed=5, today=TODAY, id_offset=1000, lines_target=150)
            t = demo_match_truth
            rows = conn.execute(
                sa.select(t.c.DraftId, t.c.LineIndex, t.c.InvTransactionId, t.c.Scenario).order_by(t.c.Id)
            )
            result = [tuple(r) for r in rows]
        engine.dispose()
        return result

    first = truth("a.db")
    assert first == truth("b.db")
    assert all(draft_id > 1000 for draft_id, *_ in first)
