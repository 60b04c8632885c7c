"""Prometheus metrics: requests and latency by door, route or tool and status; rate-limit
rejections; matching cache hits. One registry per app, so several apps (tests) don't clash."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from tools.matching.service import SuggestCache

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "asstio_requests",
            "Requests served, by door (rest, mcp, other), route or tool, and HTTP status",
            ["door", "route", "tool", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "asstio_request_duration_seconds",
            "Request latency by door and route or tool",
            ["door", "route", "tool"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "asstio_rate_limited", "Tool calls refused by the per-user rate limit", registry=self.registry
        )
        self.registry.register(_CacheCollector(state))

    def observe(self, event: dict[str, Any]) -> None:
        door, route, tool = event["door"], event["route"], event["tool"] or ""
        self.requests.labels(door, route, tool, str(event["status"])).inc()
        self.latency.labels(door, route, tool).observe(event["durationMs"] / 1000)
        if event["status"] == 429:
            self.rate_limited.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CacheCollector(Collector):
    """The match-suggestion cache's own lookup counter, once a suggest has made the cache (in
    the runner state); zeros until then."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        cache = self.state.get("suggest_cache")
        if isinstance(cache, SuggestCache):
            yield from cache.lookups.collect()
            return
        family = CounterMetricFamily(
            "asstio_matching_cache", "Match-suggestion cache lookups by result", labels=["result"]
        )
        family.add_metric(["hit"], 0)
        family.add_metric(["miss"], 0)
        yield family
