"""Real MCP clients against the real server: the MCP Inspector CLI, the TypeScript SDK and the
official Python client each list every registered tool and call every one of them successfully.

mcp-remote, started from ``claude_desktop_config.example.json`` as Claude Desktop starts it,
proxies stdio to the server. The Node clients are pinned in ``tests/e2e/package.json``
(``npm ci --prefix tests/e2e``).
Without node, npx or ``tests/e2e/node_modules`` their tests skip loudly; in CI they fail.
The tools are whatever the registry holds at run time; arguments are derived from each tool's
input schema, ids from the list tools' own results.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import PIPE
from typing import Any

import pytest

from tests.support import LiveServer, in_ci, mcp_session
from tools.view import registered_views

E2E = Path(__file__).parent / "e2e"
INSPECTOR = E2E / "node_modules" / ".bin" / "mcp-inspector"
TS_CLIENT = E2E / "ts_client.mjs"
MCP_REMOTE = E2E / "node_modules" / ".bin" / "mcp-remote"
DESKTOP_CONFIG = Path(__file__).parent.parent / "claude_desktop_config.example.json"
DESKTOP_PLACEHOLDER = "PASTE-THE-OUTPUT-OF-asstio-mcp-token-HERE"
CLIENT_TIMEOUT = 60  # seconds, for one client process
INSPECTOR_PARALLEL = min(4, max(2, os.cpu_count() or 1))  # Inspector processes at once

# Required arguments that are not ids, and where each id comes from: (tool, field of its rows).
CONSTANTS: dict[str, Any] = {"q": "a"}
ID_SOURCES: dict[str, list[tuple[str, str]]] = {
    "productId": [("find_products", "productId")],
    "customerId": [("list_customers", "id")],
    "invoiceId": [("list_purchase_invoice_drafts", field) for field in ("invoiceId", "draftId", "id")],
}
STDIO_LINE_LIMIT = 4 * 1024 * 1024  # one JSON-RPC message per line; tools/list outgrew asyncio's 64 KiB
TYPE_DEFAULTS: dict[str, Any] = {"integer": 1, "number": 1, "boolean": False, "array": []}


def expected_tools() -> set[str]:
    return {view.tool for view in registered_views() if not view.writes}


def require_node_clients() -> None:
    """Skip loudly outside CI when the Node clients are not installed; in CI that is a failure."""
    missing = [tool for tool in ("node", "npx") if shutil.which(tool) is None]
    if not all(path.exists() for path in (INSPECTOR, TS_CLIENT, MCP_REMOTE)):
        missing.append(f"{E2E / 'node_modules'} (run: npm ci --prefix tests/e2e)")
    if not missing:
        return
    message = f"missing {', '.join(missing)}: the real Node client tests are NOT running"
    if in_ci():
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


# The real clients speak the same protocol to either backend: run them against SQLite only.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def sqlite_server(server: LiveServer) -> LiveServer:
    return server


def unique_sub(client: str) -> str:
    # A user of its own per test: the tool-call budget is 60 a minute per user.
    return f"{client}-{uuid.uuid4().hex[:8]}"


def rows_of(structured: Any) -> list[dict[str, Any]]:
    if not isinstance(structured, dict):
        return []
    for key in ("items", "result"):
        if isinstance(structured.get(key), list):
            return [row for row in structured[key] if isinstance(row, dict)]
    return [structured]


class ArgumentPlanner:
    """Sensible arguments for every tool: constants, then ids harvested from earlier results."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def harvest(self, tool: str, structured: Any) -> None:
        self.rows[tool] = rows_of(structured)

    def lookup(self, name: str) -> Any:
        if name in CONSTANTS:
            return CONSTANTS[name]
        for tool, field in ID_SOURCES.get(name, []):
            for row in self.rows.get(tool, []):
                if row.get(field) is not None:
                    return row[field]
        for rows in self.rows.values():
            for row in rows:
                if row.get(name) is not None:
                    return row[name]
        return None

    def arguments(self, tool: dict[str, Any], force: bool = False) -> dict[str, Any] | None:
        schema = tool.get("inputSchema") or {}
        arguments: dict[str, Any] = {}
        for name in schema.get("required", []):
            value = self.lookup(name)
            if value is None:
                if not force:
                    return None
                value = TYPE_DEFAULTS.get(schema.get("properties", {}).get(name, {}).get("type"), "a")
            arguments[name] = value
        return arguments

    def waves(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """Calls in rounds: what can be called now; harvest the results before the next round.
        When nothing is resolvable, the rest is called with type defaults so it fails visibly."""
        pending = list(self.tools)
        while pending:
            ready = [(tool, self.arguments(tool)) for tool in pending]
            wave = [(tool, arguments) for tool, arguments in ready if arguments is not None]
            if not wave:
                wave = [(tool, self.arguments(tool, force=True) or {}) for tool in pending]
            yield [(tool["name"], arguments) for tool, arguments in wave]
            called = {id(tool) for tool, _ in wave}
            pending = [tool for tool in pending if id(tool) not in called]


def call_every_tool(
    tools: list[dict[str, Any]], call_wave: Callable[[list[tuple[str, dict[str, Any]]]], list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Every tool once; ``call_wave`` returns each call's MCP result as JSON, in order."""
    planner = ArgumentPlanner(tools)
    results: dict[str, dict[str, Any]] = {}
    for wave in planner.waves():
        for (name, arguments), result in zip(wave, call_wave(wave), strict=True):
            results[name] = {"arguments": arguments, **result}
            if not result.get("isError") and isinstance(result.get("structuredContent"), dict):
                planner.harvest(name, result["structuredContent"])
    return results


def failures(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: result
        for name, result in results.items()
        if result.get("isError") or not isinstance(result.get("structuredContent"), dict)
    }


def run_node(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=E2E, env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )


def inspector(server: LiveServer, token: str, home: Path, *method: str) -> dict[str, Any]:
    """One MCP Inspector CLI run, as its README shows: ``--cli URL --transport http --method ...``.
    Its storage and catalog go to ``home`` instead of ~/.mcp-inspector."""
    env = {**os.environ, "MCP_STORAGE_DIR": str(home), "MCP_CATALOG_PATH": str(home / "mcp.json")}
    args = [str(INSPECTOR), "--cli", server.mcp_url, "--transport", "http", *method]
    done = run_node([*args, "--header", f"Authorization: Bearer {token}"], env)
    assert done.returncode == 0, f"Inspector {' '.join(method)} failed:\n{done.stderr}\n{done.stdout}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_mcp_inspector_cli_lists_every_tool_and_calls_each_one(
    sqlite_server: LiveServer, tmp_path: Path
) -> None:
    require_node_clients()
    token = sqlite_server.token(sub=unique_sub("inspector"))
    tools = inspector(sqlite_server, token, tmp_path, "--method", "tools/list")["tools"]
    assert {tool["name"] for tool in tools} == expected_tools()

    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        pairs = [f"{key}={json.dumps(value)}" for key, value in arguments.items()]
        method = ["--method", "tools/call", "--tool-name", name]
        pairs = ["--tool-arg", *pairs] if pairs else []
        return inspector(sqlite_server, token, tmp_path, *method, *pairs)

    def call_wave(wave: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(INSPECTOR_PARALLEL) as pool:
            return list(pool.map(lambda item: call(*item), wave))

    results = call_every_tool(tools, call_wave)
    assert set(results) == expected_tools()
    assert not failures(results)


def test_the_typescript_sdk_client_lists_every_tool_and_calls_each_one(sqlite_server: LiveServer) -> None:
    require_node_clients()
    token = sqlite_server.token(sub=unique_sub("ts-sdk"))
    done = run_node(["node", str(TS_CLIENT), sqlite_server.mcp_url, token])
    assert done.returncode == 0, f"the TypeScript client failed:\n{done.stderr}\n{done.stdout}"
    summary = json.loads(done.stdout)
    assert set(summary["tools"]) == expected_tools()
    assert {call["tool"] for call in summary["calls"]} == expected_tools()
    assert all(call["ok"] for call in summary["calls"]), summary["calls"]


async def test_the_official_python_client_lists_every_tool_and_calls_each_one(
    sqlite_server: LiveServer,
) -> None:
    async with mcp_session(sqlite_server, sub=unique_sub("python-sdk")) as session:
        listed = (await session.list_tools()).tools
        assert {tool.name for tool in listed} == expected_tools()
        tools = [{"name": tool.name, "inputSchema": tool.input_schema} for tool in listed]
        planner = ArgumentPlanner(tools)
        results: dict[str, dict[str, Any]] = {}
        for wave in planner.waves():
            for name, arguments in wave:
                result = await session.call_tool(name, arguments)
                results[name] = {
                    "arguments": arguments,
                    "isError": result.is_error,
                    "structuredContent": result.structured_content,
                    "content": [block.model_dump(mode="json") for block in result.content],
                }
                if not result.is_error:
                    planner.harvest(name, result.structured_content)
    assert set(results) == expected_tools()
    assert not failures(results)


def desktop_entry(server: LiveServer, token: str) -> tuple[list[str], dict[str, str]]:
    """The example's ``asstio`` entry as written: its arguments, pointed at this server, and its
    environment with the placeholder replaced by a token, as a user would paste it."""
    entry = json.loads(DESKTOP_CONFIG.read_text())["mcpServers"]["asstio"]
    assert entry["command"] == "npx" and entry["args"][:2] == ["-y", "mcp-remote"]
    args = [arg.replace("http://127.0.0.1:8000/mcp", server.mcp_url) for arg in entry["args"][2:]]
    assert server.mcp_url in args, "the example no longer points at the demo's default URL"
    env = {key: value.replace(DESKTOP_PLACEHOLDER, token) for key, value in entry["env"].items()}
    return args, env


async def test_mcp_remote_started_as_the_claude_desktop_example_says_lists_and_calls_the_tools(
    sqlite_server: LiveServer, tmp_path: Path
) -> None:
    require_node_clients()
    args, env = desktop_entry(sqlite_server, sqlite_server.token(sub=unique_sub("mcp-remote")))
    # The pinned mcp-remote stands in for `npx -y mcp-remote` (the same program, no download);
    # its OAuth store goes to a temporary directory instead of ~/.mcp-auth.
    env = {**os.environ, **env, "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth")}
    with (tmp_path / "mcp-remote.log").open("wb") as log:
        proxy = await asyncio.create_subprocess_exec(
            str(MCP_REMOTE),
            *args,
            cwd=tmp_path,
            env=env,
            stdin=PIPE,
            stdout=PIPE,
            stderr=log,
            limit=STDIO_LINE_LIMIT,
        )
    assert proxy.stdin is not None and proxy.stdout is not None
    stdin, stdout = proxy.stdin, proxy.stdout

    async def send(message: dict[str, Any]) -> None:
        stdin.write((json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode())
        await stdin.drain()

    async def rpc(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await send({"id": request_id, "method": method, "params": params})
        while True:
            line = await asyncio.wait_for(stdout.readline(), CLIENT_TIMEOUT)
            log_text = (tmp_path / "mcp-remote.log").read_text(errors="replace")[-3000:]
            assert line, f"mcp-remote ended before answering {method}:\n{log_text}"
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == request_id:
                assert "result" in message, f"{method}: {message}"
                result: dict[str, Any] = message["result"]
                return result

    try:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "0"},
        }
        assert (await rpc(1, "initialize", hello))["serverInfo"]["name"] == "asstio-mcp"
        await send({"method": "notifications/initialized"})
        listed = await rpc(2, "tools/list", {})
        assert {tool["name"] for tool in listed["tools"]} == expected_tools()
        called = await rpc(3, "tools/call", {"name": "list_customers", "arguments": {"pageSize": 2}})
        assert called["isError"] is False
        assert len(called["structuredContent"]["items"]) == 2
    finally:
        stdin.close()
        try:
            await asyncio.wait_for(proxy.wait(), 10)
        except TimeoutError:
            proxy.kill()
            await proxy.wait()
