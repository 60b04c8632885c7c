"""What the MCP door tells a model: the guide in the instructions and the workflow prompts."""

from __future__ import annotations

import re

import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from mcp_server.guide import GUIDE, WORKFLOWS

TOOL_NAME = re.compile(r"\b(?:get|list|find|suggest)_[a-z_]+\b|\bsummarize\b")


async def test_the_instructions_carry_a_guide_naming_only_tools_the_server_has(mcp: ClientSession) -> None:
    tools = {tool.name for tool in (await mcp.list_tools()).tools}
    named = set(TOOL_NAME.findall(GUIDE))
    assert {"get_company_profile", "summarize", "get_receivables"} <= named
    assert named <= tools


async def test_claude_desktop_is_offered_the_three_workflows_as_prompts(mcp: ClientSession) -> None:
    prompts = {prompt.name: prompt for prompt in (await mcp.list_prompts()).prompts}
    assert set(prompts) == {"month_end_review", "overdue_follow_up", "match_this_invoice"}
    assert [(a.name, a.required) for a in prompts["match_this_invoice"].arguments or []] == [
        ("invoice", True)
    ]
    assert [(a.name, a.required) for a in prompts["overdue_follow_up"].arguments or []] == [
        ("minOverdue", False)
    ]


async def test_a_prompt_renders_its_arguments_and_names_only_real_tools(mcp: ClientSession) -> None:
    tools = {tool.name for tool in (await mcp.list_tools()).tools}
    rendered = await mcp.get_prompt("overdue_follow_up", {"minOverdue": "10000"})
    text = rendered.messages[0].content.text  # type: ignore[union-attr]
    assert "overdueMin=10000" in text
    for workflow in WORKFLOWS:
        arguments = {a.name: "2026-10" for a in workflow.arguments}
        result = await mcp.get_prompt(workflow.name, arguments)
        assert set(TOOL_NAME.findall(result.messages[0].content.text)) <= tools  # type: ignore[union-attr]


async def test_a_wrong_prompt_or_argument_is_an_error_naming_it(mcp: ClientSession) -> None:
    with pytest.raises(MCPError, match="month_end_reviews"):
        await mcp.get_prompt("month_end_reviews", {})
    with pytest.raises(MCPError, match="'invoice'"):
        await mcp.get_prompt("match_this_invoice", {})
    with pytest.raises(MCPError, match="'months'"):
        await mcp.get_prompt("month_end_review", {"months": "2026-10"})
