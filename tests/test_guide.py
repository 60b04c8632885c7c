"""What the MCP door tells a model: the guide in the instructions and the workflow prompts."""

from __future__ import annotations

import re

from mcp.client.session import ClientSession

from mcp_server.guide import GUIDE, match_this_invoice, month_end_review, overdue_follow_up

TOOL_NAME = re.compile(r"\b(?:get|list|find|suggest)_[a-z_]+\b|\bsummarize\b")


async def test_the_instructions_carry_a_guide_naming_only_tools_the_server_has(mcp: ClientSession) -> None:
    tools = {tool.name for tool in (await mcp.list_tools()).tools}
    named = set(TOOL_NAME.findall(GUIDE))
    assert {"get_company_profile", "summarize", "get_receivables"} <= named
    assert named <= tools


async def test_claude_desktop_is_offered_the_three_workflows_as_prompts(mcp: ClientSession) -> None:
    prompts = {prompt.name: prompt for prompt in (await mcp.list_prompts()).prompts}
    assert set(prompts) == {"month_end_review", "overdue_follow_up", "match_this_invoice"}
    assert [a.name for a in prompts["match_this_invoice"].arguments or []] == ["invoice"]
    assert all(a.required is False for a in prompts["month_end_review"].arguments or [])


async def test_a_prompt_renders_with_its_argument_and_names_only_real_tools(mcp: ClientSession) -> None:
    tools = {tool.name for tool in (await mcp.list_tools()).tools}
    rendered = await mcp.get_prompt("month_end_review", {"month": "2026-10"})
    text = rendered.messages[0].content.text  # type: ignore[union-attr]
    assert "2026-10" in text
    for workflow in (month_end_review(), overdue_follow_up("10000"), match_this_invoice("F-1")):
        assert set(TOOL_NAME.findall(workflow)) <= tools
