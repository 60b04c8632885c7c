"""A first-time operator's path (issue 11): configuration errors at start-up in one sentence,
tokens that fit the running demo, refusals explained in the log, a serve start-up line, and
--help with defaults."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from demo.dev_issuer import DevIssuer
from tests.support import AUDIENCE, LiveServer, free_port, start_server

CLI = [sys.executable, "-m", "mcp_server"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "asstio.toml"
    path.write_text(text)
    return path


BASE = """issuers = ["https://idp.example.test"]
audience = "a"
[tenants]
acme = "sqlite:///acme.db"
"""


def refused_in_one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BASE + '[matching.acme]\nqtyPercent = "lots"\n', "[matching.acme] qtyPercent"),
        (BASE + "[matching.acme]\nqtyPrecent = 0.05\n", "unknown tolerances ['qtyPrecent']"),
        (BASE + "bad = = 1\n", "is not valid TOML: Invalid value (at line 5, column 7)"),
        (BASE.replace("sqlite:///acme.db", "mysql://x/y"), "use a sqlite:/// or postgresql:// URL"),
        ('rate_limit_storage = "memcached://x"\n' + BASE, "rate_limit_storage 'memcached://x'"),
    ],
)
def test_serve_refuses_a_bad_config_at_start_up_in_one_sentence(
    tmp_path: Path, text: str, expected: str
) -> None:
    stderr = refused_in_one_sentence(run("serve", "--config", str(config(tmp_path, text)), cwd=tmp_path))
    assert expected in stderr


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    stderr = refused_in_one_sentence(run("serve", "--config", "nowhere.toml", cwd=tmp_path))
    assert "config file nowhere.toml does not exist" in stderr


def test_token_refuses_a_negative_lifetime_and_a_data_dir_with_no_demo(tmp_path: Path) -> None:
    negative = run("token", "--ttl", "-5", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert negative.returncode != 0 and negative.stdout == ""
    assert "argument --ttl: must be a positive number, got -5" in negative.stderr.splitlines()[-1]
    mistyped = refused_in_one_sentence(run("token", "--data-dir", "no-such-dir", cwd=tmp_path))
    assert "--data-dir" in mistyped
    plain = refused_in_one_sentence(run("token", cwd=tmp_path))
    assert ".asstio" in plain
    assert not (tmp_path / ".asstio").exists() and not (tmp_path / "no-such-dir").exists()


def test_every_option_of_every_command_shows_its_default_in_help(tmp_path: Path) -> None:
    expectations = {
        "demo": ["(default: 127.0.0.1)", "(default: 8000)", "(default: .asstio)", "(default: 20000)"],
        "token": ["(default: .asstio)", "(default: demo)", "(default: demo-user)", "(default: 43200)"],
        "seed": ["(default: 1)", "(default: SEK)", "(default: 0)"],
        "serve": ["(default: 0.0.0.0)", "(default: 8000)", "(default: 1)"],
        "eval-matching": ["(default: 3200)", "(default: 11)", "(default: 50)"],
    }
    for command, defaults in expectations.items():
        shown = " ".join(run(command, "--help", cwd=tmp_path).stdout.split())
        assert all(default in shown for default in defaults), (command, shown)


def test_serve_accepts_postgres_urls_and_says_where_it_listens(
    postgres_tenants: dict[str, str], tmp_path: Path
) -> None:
    url = (
        sa.make_url(postgres_tenants["demo"]).set(drivername="postgres").render_as_string(hide_password=False)
    )
    port = free_port()
    text = f'issuers = ["https://idp.example.test"]\naudience = "a"\n[tenants]\ndemo = "{url}"\n'
    command = [
        *CLI,
        "serve",
        "--config",
        str(config(tmp_path, text)),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith(f"asstio-mcp serving on http://127.0.0.1:{port}")
        assert "MCP at http://127.0.0.1:8000/mcp" in first and "1 tenant: demo" in first
        assert "rate limit 60/min in memory://" in first
        ready = wait_for_ready(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200 and ready.json()["tenants"] == {"ok": 1, "unavailable": 0}
    finally:
        process.terminate()
        process.wait(timeout=15)


def wait_for_ready(url: str) -> httpx.Response:
    deadline = time.monotonic() + 90  # a cold interpreter on a loaded 2-core machine
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def test_an_untrusted_issuer_is_logged_with_both_sides_but_not_told_to_the_caller(
    server: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = DevIssuer.load_or_create(tmp_path, "https://stranger.example.test").mint(
        tenant="demo", sub="x", audience=AUDIENCE
    )
    with caplog.at_level(logging.INFO, logger="auth"):
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/api/v1/customers", headers={"Authorization": f"Bearer {foreign}"})
    assert response.status_code == 401
    assert server.url not in response.text and "stranger" not in response.text
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "https://stranger.example.test" in logged and server.url in logged
    assert foreign not in logged


async def test_an_unreachable_tenant_database_logs_its_cause(
    sqlite_tenants: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tenants = sqlite_tenants | {"demo": f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"}
    live = start_server(tmp_path, tenants)
    try:
        with caplog.at_level(logging.WARNING, logger="asstio.db"):
            async with httpx.AsyncClient(base_url=live.url, headers=live.headers(), timeout=30) as client:
                response = await client.get("/api/v1/customers")
    finally:
        live.stop()
    assert response.status_code == 503
    causes = [r.getMessage() for r in caplog.records if r.name == "asstio.db"]
    assert any(m.startswith("tenant demo database:") and "refused" in m.lower() for m in causes), causes
