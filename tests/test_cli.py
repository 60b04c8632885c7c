"""The console script as a user runs it: token, seed, and a demo that serves what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from tests.support import free_port

CLI = [sys.executable, "-m", "mcp_server"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_token_prints_one_jwt_and_nothing_else(tmp_path: Path) -> None:
    done = run(
        "token",
        "--data-dir",
        str(tmp_path),
        "--tenant",
        "demo-b",
        "--sub",
        "ann",
        "--ttl",
        "60",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout == token + "\n"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iid"], claims["sub"], claims["exp"] - claims["iat"]) == ("demo-b", "ann", 60)
    key = tmp_path / "signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600


def test_seed_fills_an_empty_database_and_refuses_a_second_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    first = run("seed", "--database-url", url, "--orders", "300", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run("seed", "--database-url", url, "--orders", "300", cwd=tmp_path)
    assert again.returncode != 0
    assert again.stderr.startswith("asstio-mcp seed: ")
    assert "Traceback" not in again.stderr


def test_the_demo_serves_with_the_token_it_prints(tmp_path: Path) -> None:
    port = free_port()
    command = [*CLI, "demo", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--orders", "400"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        banner = read_banner(process)
        token = next(line.split()[-1] for line in banner if line.strip().startswith("Token:"))
        url = f"http://127.0.0.1:{port}"
        assert f"MCP:      {url}/mcp" in "\n".join(banner)
        response = wait_for(f"{url}/api/v1/customers?pageSize=1", token)
        assert response.status_code == 200
        assert len(response.json()["items"]) == 1
        listing = httpx.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
        )
        assert "list_customers" in json.dumps(listing.json())
    finally:
        process.terminate()
        process.wait(timeout=15)


def read_banner(process: subprocess.Popen[str]) -> list[str]:
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith("Try: curl"):
            return lines
    raise AssertionError("the demo printed no banner:\n" + "".join(lines))


def wait_for(url: str, token: str) -> httpx.Response:
    deadline = time.monotonic() + 90  # a cold interpreter on a loaded 2-core machine
    while True:
        try:
            return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
