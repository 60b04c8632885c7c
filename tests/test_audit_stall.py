"""A tenant database whose network path stalls (accepts, then relays nothing): its requests
answer 503 within the deadline, the other tenant is untouched, /readyz answers in its own
deadline, and all is well again when the link comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support import (
    LiveServer,
    free_port,
    postgres_reachable,
    require_service,
    rest_client,
    start_server,
)
from tests.tcp_proxy import TcpProxy

STATEMENT_TIMEOUT_MS = 1500  # the request deadline is this + 2 s


@pytest.fixture
def one_tenant_behind_a_proxy(
    postgres_tenants: dict[str, str], tmp_path: Path
) -> Iterator[tuple[LiveServer, TcpProxy]]:
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    proxy = TcpProxy([("127.0.0.1", 5432)], free_port())
    proxy.start()
    tenants = dict(postgres_tenants)
    tenants["demo"] = sa.make_url(tenants["demo"]).set(port=proxy.port).render_as_string(hide_password=False)
    live = start_server(tmp_path, tenants, statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    yield live, proxy
    proxy.resume()
    live.stop()
    proxy.close()


async def timed(request: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request  # type: ignore[misc]
    return response, time.monotonic() - started


async def test_a_stalled_tenant_answers_503_within_seconds_and_the_other_tenant_is_untouched(
    one_tenant_behind_a_proxy: tuple[LiveServer, TcpProxy],
) -> None:
    server, proxy = one_tenant_behind_a_proxy
    async with rest_client(server) as stalled, rest_client(server, tenant="demo-b") as healthy:
        assert (await stalled.get("/customers")).status_code == 200
        proxy.stall()
        stalled_calls = [timed(stalled.get("/customers", params={"pageSize": n + 1})) for n in range(30)]
        healthy_calls = [timed(healthy.get("/customers", params={"pageSize": n + 1})) for n in range(10)]
        answers = await asyncio.gather(*stalled_calls, *healthy_calls)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            ready, ready_seconds = await timed(client.get("/readyz"))
        proxy.resume()
        recovered = [(await stalled.get("/customers")).status_code for _ in range(3)]

    for response, seconds in answers[:30]:
        assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
        assert seconds < 6
    for response, seconds in answers[30:]:
        assert response.status_code == 200 and seconds < 2
    assert ready.status_code == 503 and ready.json()["tenants"] == {"ok": 1, "unavailable": 1}
    assert ready_seconds < 5
    assert recovered[-1] == 200
