"""Asks every question of the suite as a fresh user through the official MCP client and
compares the answer with the suite's own SQL.

On a tenant backed by a source (Fortnox, Wisedat, Asperion) a question that needs a view the
source cannot fill, as tools/capabilities.py declares it, has one right answer: the tool's
refusal ``not_in_source`` naming the source and what it lacks (never an empty list read as
"there are none"). Such a question is asked all the same and counted as refused by the source.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.questions.oracle import Books
from tests.questions.suite import (
    MAX_CALLS,
    MAX_TOKENS,
    NOT_FILLED,
    QUESTIONS,
    TOOLS,
    Assistant,
    Call,
    Facts,
    Question,
    Refusal,
    Refused,
    ToolError,
    facts_of,
)
from tests.support import DEMO_HOME_CURRENCY, TODAY, LiveServer, mcp_session, rest_client
from tools import capabilities


def refusal_for(question: Question, source: str | None) -> Refusal | None:
    """The refusal a tenant of ``source`` answers ``question`` with, by the declaration of what
    each source lacks; None when the source fills every view the question needs."""
    if source is None:
        return None
    label = capabilities.source_label(source)
    for view, arguments in question.needs:
        lacking = capabilities.LACKING.get(source, {}).get(view)
        for (name, parameter, value), what in capabilities.LACKING_ARGUMENTS.get(source, {}).items():
            if lacking is None and name == view and arguments.get(parameter) == value:
                lacking = what
        if lacking is not None:
            return Refusal(TOOLS[view], label, lacking)
    lacking = None if question.about is None else capabilities.LACKING.get(source, {}).get(question.about)
    if lacking is not None:  # said by the view read (the profile's coverage), not by an error
        return Refusal(TOOLS[question.needs[0][0]], label, lacking, NOT_FILLED)
    return None


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
    def trivial(self) -> bool:
        """Matched by an answer that says little: nothing (an empty list, no record) or only zeros."""
        if self.refused:
            return False
        leaves = list(_leaves(normal(self.expected)))
        numbers = [leaf for leaf in leaves if isinstance(leaf, Decimal)]
        return not leaves or (bool(numbers) and not any(numbers))

    @property
    def refused(self) -> bool:
        return isinstance(self.expected, Refusal)

    @property
    def followed_plan(self) -> bool:
        """The calls made are the tools of the question's needs, in order (up to the refusing one)."""
        wanted = [TOOLS[view] for view, _ in self.question.needs]
        if self.refused:
            wanted = wanted[: wanted.index(self.expected.tool) + 1]
        return [call.tool for call in self.calls] == wanted

    @property
    def matched(self) -> bool:
        if self.error is not None or not self.followed_plan:
            return False
        if self.refused or isinstance(self.answer, Refused):
            return isinstance(self.answer, Refused) and self.refused and self.answer.says(self.expected)
        return normal(self.answer) == normal(self.expected)

    @property
    def within_budget(self) -> bool:
        return len(self.calls) <= MAX_CALLS and self.tokens <= MAX_TOKENS

    @property
    def answered(self) -> bool:
        return self.matched and self.within_budget


def _leaves(value: Any) -> Any:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


def normal(value: Any) -> Any:
    """Lists and tuples alike; numbers as exact decimals."""
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    if isinstance(value, dict):
        return {normal(k): normal(v) for k, v in value.items()}
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


async def ask_all(
    server: LiveServer,
    backend: str,
    tenant: str,
    url: str,
    *,
    home: str | None = None,
    source: str | None = None,
) -> list[Outcome]:
    """Every question on ``tenant`` (database ``url``), whose home currency is ``home`` (the demo
    tenant's by default) and whose books are synced from ``source`` (a kind of
    tools/capabilities.py; None for a tenant read directly)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            books = Books(conn, home or DEMO_HOME_CURRENCY[tenant], TODAY)
            facts = facts_of(books)
            return [await _ask(server, backend, tenant, books, facts, q, source) for q in QUESTIONS]
    finally:
        engine.dispose()


def _refused(exc: ToolError) -> Refused | None:
    try:
        body = json.loads(exc.text)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("code") != "not_in_source":
        return None
    return Refused(exc.tool, str(body["code"]), str(body.get("message", "")))


async def _ask(
    server: LiveServer,
    backend: str,
    tenant: str,
    books: Books,
    facts: Facts,
    question: Question,
    source: str | None,
) -> Outcome:
    expected: Any = refusal_for(question, source)
    if expected is None:
        expected = question.oracle(books, facts)
    if question.referee is not None and not isinstance(expected, Refusal):
        async with rest_client(server, tenant, sub=f"referee-{uuid.uuid4().hex[:10]}") as rest:

            async def get(path: str) -> Any:
                return (await rest.get(path)).raise_for_status().json(parse_float=Decimal)

            expected = await question.referee(books, facts, get)
    async with mcp_session(server, tenant, sub=f"asker-{uuid.uuid4().hex[:10]}") as session:
        assistant = Assistant(session)
        answer, error = None, None
        try:
            answer = await question.plan(assistant, facts)
        except ToolError as exc:
            answer = _refused(exc)
            if answer is None:
                error = f"{type(exc).__name__}: {exc}"[:300]
        except (AssertionError, StopIteration, KeyError, IndexError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    note = facts.notes.get(question.name)
    return Outcome(
        backend, tenant, question, question.asked(facts), assistant.calls, expected, answer, error, note
    )


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'backend':8} {'tenant':7} {'question':28} {'calls':>5} {'tokens':>7}  answered  tools"]
    for o in outcomes:
        verdict = "WRONG" if not o.matched else ("OVER" if not o.within_budget else "yes")
        if o.answered and o.refused:
            verdict = "refused"  # by the source: not_in_source, as declared
        tools = ", ".join(call.tool for call in o.calls)
        lines.append(
            f"{o.backend:8} {o.tenant:7} {o.question.name:28} {len(o.calls):>5} {o.tokens:>7.0f}"
            f"  {verdict:8}  {tools}"
        )
        if o.note:
            lines.append(f"{'':17} note: {o.note}")
        if o.trivial:
            lines.append(f"{'':17} note: trivially satisfied (the answer is empty or all zero)")
    answered = sum(o.answered for o in outcomes)
    refused = sum(o.answered and o.refused for o in outcomes)
    worst = max((o.tokens for o in outcomes), default=0)
    lines.append(
        f"{answered}/{len(outcomes)} answered exactly within {MAX_CALLS} calls and {MAX_TOKENS} tokens "
        f"({refused} of them refused by the source: not_in_source, as it declares); "
        f"{len(QUESTIONS)} questions, most tokens {worst:.0f}"
    )
    return "\n".join(lines)


def explain(outcome: Outcome) -> str:
    return (
        f"{outcome.backend}/{outcome.tenant} {outcome.question.name}: {outcome.asked}\n"
        f"  calls: {[(c.tool, c.arguments, round(c.tokens)) for c in outcome.calls]}\n"
        f"  expected: {outcome.expected!r}\n  answer:   {outcome.answer!r}\n  error: {outcome.error}"
    )
