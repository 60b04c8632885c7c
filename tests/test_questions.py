"""The question suite (tests/questions): every question answered exactly, within 3 tool calls
and 8,000 tokens of tool text, on both databases and both tenants, through the official MCP
client. ``python -m tests.questions`` prints the same run as a table."""

from __future__ import annotations

import pytest

from tests.questions.run import ask_all, explain, report
from tests.questions.suite import QUESTIONS
from tests.support import LiveServer

KINDS = {
    "context",
    "revenue per period",
    "order intake per period",
    "purchases per period",
    "period against period",
    "top N",
    "receivables",
    "purchase orders received, not invoiced",
    "stock",
    "late invoices",
    "late order lines",
    "cheapest valid vendor price",
    "search as typed",
    "drafts ready to match",
}


def test_the_suite_has_at_least_25_questions_of_every_kind() -> None:
    assert len(QUESTIONS) >= 25
    assert {q.kind for q in QUESTIONS} >= KINDS
    assert len({q.name for q in QUESTIONS}) == len(QUESTIONS)


@pytest.mark.parametrize("tenant", ["demo", "demo-b"])
async def test_every_question_is_answered_exactly_within_three_calls_and_8000_tokens(
    server: LiveServer, backend: str, tenant: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_tenants")[tenant]
    outcomes = await ask_all(server, backend, tenant, url)
    failed = [explain(o) for o in outcomes if not o.answered]
    assert not failed, report(outcomes) + "\n" + "\n".join(failed)
