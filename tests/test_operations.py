"""Operations: health, readiness per tenant, Prometheus metrics, request logs, and a tenant
database that goes away and comes back under a running server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support import (
    LiveServer,
    free_port,
    mcp_session,
    postgres_reachable,
    require_service,
    start_server,
)
from tests.tcp_proxy import TcpProxy


async def test_healthz_and_readyz_answer(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "tenants": {"ok": 2, "unavailable": 0},
        "rateLimitStorage": "ok",
    }


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_count_a_tool_call_and_a_rest_call_after_they_happen(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = (await client.get("/metrics")).text
        await client.get("/api/v1/customers", headers=server.headers())
        async with mcp_session(server, sub="metrics-user") as session:
            await session.call_tool("list_customers", {"pageSize": 1})
        after = (await client.get("/metrics")).text
    rest = {"door": "rest", "route": "/api/v1/customers", "status": "200"}
    tool = {"door": "mcp", "tool": "list_customers", "status": "200"}
    assert (
        metric(after, "asstio_requests_total", **rest) == metric(before, "asstio_requests_total", **rest) + 1
    )
    assert (
        metric(after, "asstio_requests_total", **tool) == metric(before, "asstio_requests_total", **tool) + 1
    )
    assert "asstio_request_duration_seconds_bucket" in after


async def test_each_request_writes_one_json_log_line_without_the_token(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = server.token(sub="logged-user")
    with caplog.at_level(logging.INFO, logger="asstio.access"):
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/api/v1/customers/abc", headers={"Authorization": f"Bearer {token}"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "asstio.access"]
    mine = [line for line in lines if line["traceId"] == response.headers["x-trace-id"]]
    assert len(mine) == 1
    assert mine[0]["time"].endswith("Z")
    assert mine[0] | {"durationMs": 0, "time": "t"} == {
        "time": "t",
        "traceId": response.headers["x-trace-id"], "iid": "demo", "sub": "logged-user", "door": "rest",
        "method": "GET", "route": "/api/v1/customers/{customerId}", "tool": None, "status": 400,
        "durationMs": 0,
    }  # fmt: skip
    assert all(token not in record.getMessage() for record in caplog.records)


@pytest.fixture
def proxied_server(postgres_tenants: dict[str, str], tmp_path: Path) -> Iterator[tuple[LiveServer, TcpProxy]]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    proxy = TcpProxy([("127.0.0.1", 5432)], free_port())
    proxy.start()
    via_proxy = {
        iid: sa.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        for iid, url in postgres_tenants.items()
    }
    live = start_server(tmp_path, via_proxy)
    yield live, proxy
    live.stop()
    proxy.close()


async def test_a_database_that_goes_away_gives_503_and_the_server_recovers_by_itself(
    proxied_server: tuple[LiveServer, TcpProxy],
) -> None:
    server, proxy = proxied_server
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=30) as client:
        assert (await client.get("/api/v1/customers")).status_code == 200
        proxy.stop()
        down = await client.get("/api/v1/customers")
        assert down.status_code == 503
        assert down.json()["code"] == "service_unavailable"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["tenants"] == {"ok": 0, "unavailable": 2}
        async with mcp_session(server, sub="outage-user") as session:
            result = await session.call_tool("list_customers", {"pageSize": 1})
        assert result.is_error
        assert json.loads(result.content[0].text)["code"] == "service_unavailable"  # type: ignore[union-attr]
        proxy.start()
        assert (await client.get("/api/v1/customers")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
