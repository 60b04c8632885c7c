"""Asks every question of the suite as a fresh user through the official MCP client and
compares the answer with the suite's own SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.questions.oracle import Books
from tests.questions.suite import (
    MAX_CALLS,
    MAX_TOKENS,
    QUESTIONS,
    Assistant,
    Call,
    Facts,
    Question,
    ToolError,
    facts_of,
)
from tests.support import DEMO_HOME_CURRENCY, TODAY, LiveServer, mcp_session, rest_client


@dataclass(frozen=True)
class Outcome:
    backend: str
    tenant: str
    question: Question
    asked: str
    calls: list[Call]
    expected: Any
    answer: Any
    error: str | None
    note: str | None = None

    @property
    def tokens(self) -> float:
        return sum(call.tokens for call in self.calls)

    @property
    def matched(self) -> bool:
        return self.error is None and normal(self.answer) == normal(self.expected)

    @property
    def within_budget(self) -> bool:
        return len(self.calls) <= MAX_CALLS and self.tokens <= MAX_TOKENS

    @property
    def answered(self) -> bool:
        return self.matched and self.within_budget


def normal(value: Any) -> Any:
    """Lists and tuples alike; numbers as exact decimals."""
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    if isinstance(value, dict):
        return {normal(k): normal(v) for k, v in value.items()}
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


async def ask_all(server: LiveServer, backend: str, tenant: str, url: str) -> list[Outcome]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            books = Books(conn, DEMO_HOME_CURRENCY[tenant], TODAY)
            facts = facts_of(books)
            return [await _ask(server, backend, tenant, books, facts, q) for q in QUESTIONS]
    finally:
        engine.dispose()


async def _ask(
    server: LiveServer, backend: str, tenant: str, books: Books, facts: Facts, question: Question
) -> Outcome:
    expected = question.oracle(books, facts)
    if question.referee is not None:
        async with rest_client(server, tenant, sub=f"referee-{uuid.uuid4().hex[:10]}") as rest:

            async def get(path: str) -> Any:
                return (await rest.get(path)).raise_for_status().json(parse_float=Decimal)

            expected = await question.referee(books, facts, get)
    async with mcp_session(server, tenant, sub=f"asker-{uuid.uuid4().hex[:10]}") as session:
        assistant = Assistant(session)
        answer, error = None, None
        try:
            answer = await question.plan(assistant, facts)
        except (ToolError, AssertionError, StopIteration, KeyError, IndexError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    note = facts.notes.get(question.name)
    return Outcome(
        backend, tenant, question, question.asked(facts), assistant.calls, expected, answer, error, note
    )


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'backend':8} {'tenant':7} {'question':28} {'calls':>5} {'tokens':>7}  answered  tools"]
    for o in outcomes:
        verdict = "yes" if o.answered else ("WRONG" if not o.matched else "OVER")
        tools = ", ".join(call.tool for call in o.calls)
        lines.append(
            f"{o.backend:8} {o.tenant:7} {o.question.name:28} {len(o.calls):>5} {o.tokens:>7.0f}"
            f"  {verdict:8}  {tools}"
        )
        if o.note:
            lines.append(f"{'':17} note: {o.note}")
    answered = sum(o.answered for o in outcomes)
    worst = max((o.tokens for o in outcomes), default=0)
    lines.append(
        f"{answered}/{len(outcomes)} answered exactly within {MAX_CALLS} calls and {MAX_TOKENS} tokens; "
        f"{len(QUESTIONS)} questions, most tokens {worst:.0f}"
    )
    return "\n".join(lines)


def explain(outcome: Outcome) -> str:
    return (
        f"{outcome.backend}/{outcome.tenant} {outcome.question.name}: {outcome.asked}\n"
        f"  calls: {[(c.tool, c.arguments, round(c.tokens)) for c in outcome.calls]}\n"
        f"  expected: {outcome.expected!r}\n  answer:   {outcome.answer!r}\n  error: {outcome.error}"
    )
