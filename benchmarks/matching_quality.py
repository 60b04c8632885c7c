"""Matching quality against the demo's ground truth (``DemoMatchTruth``), per scenario.

- top-1: the line's first candidate is a true receipt (lines that have one);
- recall@5: some true receipt among the candidates (at most 5) (lines that have one);
- auto precision: auto-eligible candidates that are true receipts;
- auto coverage: lines with a true receipt where some true receipt is auto-eligible;
- false auto: lines with no true receipt (extra charge, nothing received yet) that still got an
  auto-eligible candidate;
- inconsistent: candidates whose ``isAutoEligible`` disagrees with their own score, variances
  and block reason under the response's tolerances (must be 0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from demo.truth import demo_match_truth
from tools.matching.models import LineSuggestion, Tolerances
from tools.matching.scorer import auto_eligibility_agrees
from tools.matching.service import suggest

OVERALL = "overall"


@dataclass
class ScenarioStats:
    lines: int = 0
    lines_with_truth: int = 0
    top1: int = 0
    recall5: int = 0
    covered: int = 0
    auto_candidates: int = 0
    auto_true: int = 0
    lines_without_truth: int = 0
    false_auto_lines: int = 0
    inconsistent: int = 0

    def add(self, other: ScenarioStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def top1_rate(self) -> float | None:
        return _rate(self.top1, self.lines_with_truth)

    @property
    def recall5_rate(self) -> float | None:
        return _rate(self.recall5, self.lines_with_truth)

    @property
    def precision(self) -> float | None:
        return _rate(self.auto_true, self.auto_candidates)

    @property
    def coverage(self) -> float | None:
        return _rate(self.covered, self.lines_with_truth)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class EvalReport:
    tolerances: Tolerances
    drafts: int = 0
    scenarios: dict[str, ScenarioStats] = field(default_factory=lambda: defaultdict(ScenarioStats))

    @property
    def overall(self) -> ScenarioStats:
        total = ScenarioStats()
        for stats in self.scenarios.values():
            total.add(stats)
        return total


Truth = dict[tuple[int, int], tuple[str, set[int]]]


def ground_truth(conn: sa.Connection) -> Truth:
    truth: Truth = {}
    t = demo_match_truth
    for r in conn.execute(sa.select(t.c.DraftId, t.c.LineIndex, t.c.InvTransactionId, t.c.Scenario)):
        _, receipts = truth.setdefault((r.DraftId, r.LineIndex), (r.Scenario, set()))
        if r.InvTransactionId is not None:
            receipts.add(r.InvTransactionId)
    return truth


def evaluate(conn: sa.Connection, tolerances: Tolerances) -> EvalReport:
    truth = ground_truth(conn)
    report = EvalReport(tolerances)
    for draft_id in sorted({draft_id for draft_id, _ in truth}):
        report.drafts += 1
        for line in suggest(conn, draft_id, tolerances).suggestions:
            known = truth.get((draft_id, line.invoice_line_index))
            if known is not None:
                report.scenarios[known[0]].add(line_stats(line, known[1], tolerances))
    return report


def line_stats(line: LineSuggestion, true_receipts: set[int], tolerances: Tolerances) -> ScenarioStats:
    candidates = line.candidates
    auto = [c for c in candidates if c.is_auto_eligible]
    has_truth = bool(true_receipts)
    return ScenarioStats(
        lines=1,
        lines_with_truth=int(has_truth),
        top1=int(has_truth and bool(candidates) and candidates[0].inv_transaction_id in true_receipts),
        recall5=int(has_truth and any(c.inv_transaction_id in true_receipts for c in candidates)),
        covered=int(has_truth and any(c.inv_transaction_id in true_receipts for c in auto)),
        auto_candidates=len(auto),
        auto_true=sum(c.inv_transaction_id in true_receipts for c in auto),
        lines_without_truth=int(not has_truth),
        false_auto_lines=int(not has_truth and bool(auto)),
        inconsistent=sum(not auto_eligibility_agrees(c, line.quantity, tolerances) for c in candidates),
    )


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


COLUMNS = ("scenario", "lines", "top-1", "recall@5", "auto prec.", "auto cov.", "false auto", "inconsist.")


def format_report(report: EvalReport) -> str:
    rows = [_row(name, report.scenarios[name]) for name in sorted(report.scenarios)]
    rows.append(_row(OVERALL, report.overall))
    widths = [max(len(str(row[i])) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = [f"{report.drafts} drafts, tolerances {report.tolerances.model_dump_json(by_alias=True)}"]
    for n, row in enumerate([COLUMNS, *rows]):
        lines.append(
            "  ".join(
                str(v).ljust(w) if i == 0 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0 or n == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _row(name: str, stats: ScenarioStats) -> tuple[str, ...]:
    false_auto = f"{stats.false_auto_lines}/{stats.lines_without_truth}" if stats.lines_without_truth else "-"
    return (
        name,
        str(stats.lines),
        _percent(stats.top1_rate),
        _percent(stats.recall5_rate),
        _percent(stats.precision),
        _percent(stats.coverage),
        false_auto,
        str(stats.inconsistent),
    )
