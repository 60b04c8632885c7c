"""The tool-call budget on memory and on a real Redis (required in CI)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
import redis.exceptions

from auth.principal import Principal
from auth.rate_limit import ToolCallLimiter
from tools.errors import ServiceUnavailable

REDIS_URI = "redis://127.0.0.1:6379/0"
ALICE = Principal(issuer="https://idp.example.test", sub="alice", tenant="demo")
BOB = Principal(issuer="https://idp.example.test", sub="bob", tenant="demo")
ALICE_ELSEWHERE = Principal(issuer="https://other-idp.example.test", sub="alice", tenant="demo-b")

MakeLimiter = Callable[[], ToolCallLimiter]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A namespace of its own in the shared Redis, removed afterwards."""
    client = redis.Redis.from_url(REDIS_URI)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URI} is required in CI but unreachable: {exc}")
        pytest.skip(
            f"REDIS UNREACHABLE at {REDIS_URI} ({exc}): Redis rate-limit tests NOT run (CI fails here)"
        )
    prefix = f"asstio-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Builds limiters that share one store, as replicas do (memory: one process only)."""
    if request.param == "memory":
        shared = ToolCallLimiter("memory://")
        yield lambda: shared
        return
    prefix = request.getfixturevalue("redis_prefix")
    built: list[ToolCallLimiter] = []

    def make() -> ToolCallLimiter:
        built.append(ToolCallLimiter(REDIS_URI, key_prefix=prefix))
        return built[-1]

    yield make
    for limiter in built:
        await limiter.aclose()


async def hits(limiter: ToolCallLimiter, principal: Principal, count: int) -> list[bool]:
    return [await limiter.hit(principal) for _ in range(count)]


async def test_the_61st_call_in_a_minute_is_refused(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    assert await hits(limiter, ALICE, 60) == [True] * 60
    assert await limiter.hit(ALICE) is False


async def test_users_have_separate_budgets(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    await hits(limiter, ALICE, 61)
    assert await limiter.hit(BOB) is True


async def test_the_same_sub_at_another_issuer_is_another_user(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    await hits(limiter, ALICE, 61)
    assert await limiter.hit(ALICE_ELSEWHERE) is True


async def test_a_concurrent_burst_of_100_admits_exactly_60(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    admitted = await asyncio.gather(*(limiter.hit(ALICE) for _ in range(100)))
    assert admitted.count(True) == 60


async def test_two_limiters_on_one_store_share_the_budget(make_limiter: MakeLimiter) -> None:
    first, second = make_limiter(), make_limiter()
    admitted = await asyncio.gather(*(limiter.hit(ALICE) for limiter in [first, second] * 50))
    assert admitted.count(True) == 60
    assert await first.hit(ALICE) is False
    assert await second.hit(ALICE) is False


async def test_reset_restores_the_budget(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    await hits(limiter, ALICE, 61)
    await limiter.reset()
    assert await limiter.hit(ALICE) is True


async def test_the_budget_is_configurable() -> None:
    limiter = ToolCallLimiter("memory://", per_minute=5)
    assert await hits(limiter, ALICE, 6) == [True] * 5 + [False]


async def test_separate_memory_limiters_do_not_share() -> None:
    first, second = ToolCallLimiter("memory://"), ToolCallLimiter("memory://")
    await hits(first, ALICE, 61)
    assert await second.hit(ALICE) is True


async def test_an_unreachable_redis_is_a_service_outage() -> None:
    limiter = ToolCallLimiter("redis://127.0.0.1:1/0")
    with pytest.raises(ServiceUnavailable):
        await limiter.hit(ALICE)
    await limiter.aclose()


def test_an_unsupported_storage_fails_at_start_up_without_echoing_secrets() -> None:
    with pytest.raises(ValueError, match="memcached") as caught:
        ToolCallLimiter("memcached://user:s3cret@cache:11211")
    assert "s3cret" not in str(caught.value)
