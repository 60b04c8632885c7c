"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, run by the Node 22
that ``tests/e2e`` pins) against a live server: every scenario that applies to a read-only
tools server passes.

The suite's client cannot sign in, so the server under test sits behind a front door that adds
a valid bearer token of the development issuer to each request that carries none, as a signed-in
client would. Everything behind it (authentication, guard, transport, tools) is the real app.
Scenarios not run need tools, prompts, resources or server-to-client features this server
does not offer (``test_simple_text``, sampling, elicitation, ...).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from demo.dev_issuer import DevIssuer
from mcp_server.app import build_app
from mcp_server.settings import Settings
from tests.support import AUDIENCE, TODAY, free_port, in_ci, serve_in_thread

E2E = Path(__file__).parent / "e2e"
NODE = E2E / "node_modules" / ".bin" / "node"
CONFORMANCE = E2E / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]


class SignedIn:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.authorization = (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.authorization]}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def served(sqlite_tenants: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not (NODE.exists() and CONFORMANCE.exists()):
        message = "tests/e2e/node_modules lacks node 22 or the conformance suite (npm ci --prefix tests/e2e)"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    port, data_dir = free_port(), tmp_path_factory.mktemp("conformance")
    url = f"http://localhost:{port}"
    issuer = DevIssuer.load_or_create(data_dir, url)
    settings = Settings(
        tenants=sqlite_tenants,
        public_url=url,
        issuers=[url],
        audience=AUDIENCE,
        dev_issuer_dir=data_dir,
        fixed_today=TODAY,
        allowed_hosts=["localhost:*", "127.0.0.1:*"],
        allowed_origins=["http://localhost:*", "http://127.0.0.1:*"],
    )
    app = SignedIn(build_app(settings), issuer.mint(tenant="demo", sub="conformance", audience=AUDIENCE))
    server, thread = serve_in_thread(app, port, "the server")
    yield url + "/mcp"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_official_conformance_scenario_passes(served: str, scenario: str, tmp_path: Path) -> None:
    args = [
        str(NODE),
        str(CONFORMANCE),
        "server",
        "--url",
        served,
        "--scenario",
        scenario,
        "-o",
        str(tmp_path),
    ]
    done = subprocess.run(args, cwd=E2E, capture_output=True, text=True, timeout=120, check=False)
    checks = [json.loads(path.read_text()) for path in tmp_path.rglob("checks.json")]
    assert checks, f"no results from the conformance run:\n{done.stdout}\n{done.stderr}"
    failed = [check for check in checks[0] if check["status"] not in ("SUCCESS", "INFO")]
    assert not failed, json.dumps(failed, indent=2)
    assert done.returncode == 0, done.stdout + done.stderr
