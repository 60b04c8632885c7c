"""Prometheus metrics: requests and latency by door, route or tool and status; rate-limit
rejections; matching cache hits; source freshness. One registry per app, so several apps
(tests) don't clash."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
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
        self.sources: dict[str, Any] = {}  # tenant -> source_freshness(), set before each render
        # Each label set's children, looked up once (the labels are the server's own names).
        self._counted: dict[tuple[str, str, str, int], Any] = {}
        self._timed: dict[tuple[str, str, str], Any] = {}
        self.registry.register(_CacheCollector(state))
        self.registry.register(_FreshnessCollector(self))

    def observe(self, event: dict[str, Any]) -> None:
        door, route, tool, status = event["door"], event["route"], event["tool"] or "", event["status"]
        counted = self._counted.get((door, route, tool, status))
        if counted is None:
            counted = self._counted[door, route, tool, status] = self.requests.labels(
                door, route, tool, str(status)
            )
        timed = self._timed.get((door, route, tool))
        if timed is None:
            timed = self._timed[door, route, tool] = self.latency.labels(door, route, tool)
        counted.inc()
        timed.observe(event["durationMs"] / 1000)
        if status == 429:
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


class _FreshnessCollector(Collector):
    """Each source-backed tenant's stream times, as Unix timestamps (0: never)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        success = GaugeMetricFamily(
            "asstio_source_last_success_timestamp_seconds",
            "When a source-backed tenant's stream last synced successfully",
            labels=["tenant", "stream"],
        )
        failure = GaugeMetricFamily(
            "asstio_source_last_error_timestamp_seconds",
            "When a source-backed tenant's stream last failed (0: its last run succeeded)",
            labels=["tenant", "stream"],
        )
        for tenant, freshness in self.metrics.sources.items():
            for stream, times in (freshness or {}).get("streams", {}).items():
                success.add_metric([tenant, stream], _timestamp(times["lastSuccessAt"]))
                failure.add_metric([tenant, stream], _timestamp(times["lastErrorAt"]))
        yield success
        yield failure


def _timestamp(iso: str | None) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else 0.0
