"""60 tool calls a minute per user on /mcp: the 61st is a 429; tools/list and REST are free;
with Redis, every replica shares one budget."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support import (
    AUDIENCE,
    REDIS_URL,
    LiveServer,
    free_port,
    redis_reachable,
    require_service,
    sqlite_only,
)
from tests.tcp_proxy import TcpProxy

pytestmark = sqlite_only


HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def call(name: str = "list_customers") -> dict[str, object]:
    arguments = {"pageSize": 1}
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def user() -> str:
    return f"limited-{uuid.uuid4().hex[:8]}"


async def post(client: httpx.AsyncClient, url: str, token: str, message: dict[str, object]) -> httpx.Response:
    return await client.post(url, json=message, headers=HEADERS | {"Authorization": f"Bearer {token}"})


async def test_the_61st_tool_call_in_a_minute_is_429_with_retry_after(server: LiveServer) -> None:
    token = server.token(sub=user())
    async with httpx.AsyncClient(timeout=30) as client:
        statuses = [(await post(client, server.mcp_url, token, call())).status_code for _ in range(60)]
        refused = await post(client, server.mcp_url, token, call())
    assert statuses == [200] * 60
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["traceId"]


async def test_tools_list_and_rest_never_count(server: LiveServer) -> None:
    sub = user()
    token = server.token(sub=sub)
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(70):
            assert (await post(client, server.mcp_url, token, listing)).status_code == 200
            assert (
                await client.get(server.url + "/api/v1/customers", headers=server.headers(sub=sub))
            ).status_code == 200
        statuses = {(await post(client, server.mcp_url, token, call())).status_code for _ in range(60)}
    assert statuses == {200}


async def test_two_users_do_not_share_a_budget(server: LiveServer) -> None:
    first, second = server.token(sub=user()), server.token(sub=user())
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(60):
            await post(client, server.mcp_url, first, call())
        assert (await post(client, server.mcp_url, first, call())).status_code == 429
        assert (await post(client, server.mcp_url, second, call())).status_code == 200


async def test_a_burst_of_100_concurrent_calls_admits_exactly_60(server: LiveServer) -> None:
    token = server.token(sub=user())
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as client:
        responses = await asyncio.gather(*(post(client, server.mcp_url, token, call()) for _ in range(100)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 60
    assert statuses.count(429) == 40


@pytest.fixture(scope="module")
def two_replicas(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two `asstio-mcp serve` processes on their own ports, sharing one Redis budget, trusting
    the test server's development issuer as if it were Zitadel. Started once: each
    test spends the budget of a user of its own."""
    require_service("Redis (127.0.0.1:6379)", redis_reachable())
    tmp_path = tmp_path_factory.mktemp("replicas")
    tenants = "\n".join(f'"{iid}" = "{url}"' for iid, url in server.settings.tenants.items())
    urls, processes = [], []
    for _ in range(2):
        port = free_port()
        config = tmp_path / f"replica-{port}.toml"
        config.write_text(
            f'public_url = "http://127.0.0.1:{port}"\nissuers = ["{server.url}"]\naudience = "{AUDIENCE}"\n'
            f'rate_limit_storage = "{REDIS_URL}"\n[tenants]\n{tenants}\n'
        )
        command = [
            sys.executable,
            "-m",
            "mcp_server",
            "serve",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
        ]
        processes.append(subprocess.Popen([*command, "--port", str(port)], env=os.environ.copy()))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until_healthy(url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


def wait_until_healthy(url: str) -> None:
    deadline = time.monotonic() + 90  # a cold interpreter on a loaded 2-core machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"replica {url} did not start")


@pytest.mark.redis
async def test_two_replicas_with_redis_share_one_budget(server: LiveServer, two_replicas: list[str]) -> None:
    token = server.token(sub=user())
    # Another tool than the next test's, whose count of list_customers calls the replicas share.
    tool = call("list_warehouse_stock")
    async with httpx.AsyncClient(timeout=30) as client:
        statuses = [
            (await post(client, two_replicas[i % 2] + "/mcp", token, tool)).status_code for i in range(61)
        ]
    assert statuses.count(429) == 1
    assert statuses[-1] == 429


@pytest.mark.redis
async def test_two_replicas_behind_one_address_serve_both_doors_and_share_the_budget(
    server: LiveServer, two_replicas: list[str]
) -> None:
    ports = [int(url.rsplit(":", 1)[1]) for url in two_replicas]
    balancer = TcpProxy([("127.0.0.1", port) for port in ports], free_port())
    balancer.start()
    address = f"http://127.0.0.1:{balancer.port}"
    token = server.token(sub=user())
    try:
        # No keep-alive: every request is a new connection, so the balancer alternates replicas.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            rest = await client.get(
                address + "/api/v1/customers", headers={"Authorization": f"Bearer {token}"}
            )
            statuses = [(await post(client, address + "/mcp", token, call())).status_code for _ in range(61)]
            served = [tool_calls((await client.get(url + "/metrics")).text) for url in two_replicas]
    finally:
        balancer.close()
    assert rest.status_code == 200
    assert statuses == [200] * 60 + [429]
    assert all(count > 0 for count in served) and sum(served) == 61, served


def tool_calls(metrics: str) -> float:
    """tools/call requests of list_customers a replica answered, whatever their status."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("asstio_requests_total{") and 'tool="list_customers"' in line
    )
