"""The README as written: its commands and snippets run against a demo started by the CLI (only
the port differs, as the demo here listens on a free one)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port
from tests.test_cli import read_banner, wait_for
from tests.test_real_clients import E2E, require_node_clients

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
EXAMPLE = json.loads((ROOT / "claude_desktop_config.example.json").read_text())


def block_after(marker: str, language: str) -> str:
    """The first fenced block of ``language`` after ``marker`` in the README."""
    rest = README[README.index(marker) :]
    found = re.search(rf"```{language}\n(.*?)```", rest, re.S)
    assert found, f"no {language} block after {marker!r}"
    return found.group(1)


class Demo:
    def __init__(self, cwd: Path, port: int, banner: list[str]) -> None:
        self.cwd, self.port, self.banner = cwd, port, banner

    def as_written(self, text: str) -> str:
        return text.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")

    def shell(self, script: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd or self.cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stderr}"
        return done.stdout

    def token(self) -> str:
        return self.shell(".venv/bin/asstio-mcp token").strip()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    cwd = tmp_path_factory.mktemp("readme")
    (cwd / ".venv").symlink_to(Path(sys.executable).parent.parent)
    port = free_port()
    command = [".venv/bin/asstio-mcp", "demo", "--port", str(port), "--orders", "400"]
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True)
    try:
        banner = read_banner(process)
        demo = Demo(cwd, port, banner)
        wait_for(f"http://127.0.0.1:{port}/healthz", demo.token())
        yield demo
    finally:
        process.terminate()
        process.wait(timeout=15)


def json_values(text: str) -> list[Any]:
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text.strip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return values


def test_the_quickstarts_curl_commands_answer_as_written(demo: Demo) -> None:
    customers, other_tenants = json_values(demo.shell(demo.as_written(block_after("Try it from", "sh"))))
    assert len(customers["items"]) == 3 and customers["pageSizeApplied"] == 3
    assert other_tenants["id"] == 50000001 and other_tenants["currencyIsoCode"] in (None, "EUR")


def test_the_python_agent_snippet_runs_and_calls_a_tool(demo: Demo) -> None:
    snippet = demo.as_written(block_after("**Your own agent**", "python"))
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        env={**os.environ, "TOKEN": demo.token()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "list_sales_orders" in done.stdout and "pageSizeApplied" in done.stdout


def test_the_inspector_command_lists_the_tools_as_written(demo: Demo) -> None:
    require_node_clients()
    command = demo.as_written(block_after("**MCP Inspector**", "sh"))
    listed = json.loads(demo.shell(command, env={"TOKEN": demo.token()}, cwd=E2E))
    assert "list_sales_orders" in {tool["name"] for tool in listed["tools"]}


def test_the_demo_banner_prints_a_whole_token_a_runnable_curl_and_the_example_files_variable(
    demo: Demo,
) -> None:
    curl = next(line for line in demo.banner if line.startswith("Try: curl"))[len("Try: ") :]
    assert json.loads(demo.shell(curl))["pageSizeApplied"] == 3
    snippet = json.loads(
        "".join(demo.banner[demo.banner.index("Claude Desktop (claude_desktop_config.json):\n") + 1 :]).split(
            "\n\n"
        )[0]
    )
    ours, example = snippet["mcpServers"]["asstio"], EXAMPLE["mcpServers"]["asstio"]
    assert set(ours["env"]) == set(example["env"])
    assert ours["args"][-1] == example["args"][-1]
