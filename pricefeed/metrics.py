"""What the service counts. One registry feeds both /metrics (JSON) and Prometheus.

The hot path only increments counters and appends to bounded deques; percentiles are worked
out when someone asks.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from prometheus_client import CollectorRegistry, Counter, Histogram

WINDOW = 300.0  # seconds of latencies and ages kept for percentiles


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pricefeed_requests", "API requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "pricefeed_request_seconds", "API request latency", registry=self.registry
        )
        self.served_total = Counter(
            "pricefeed_served", "quotes served", ["tier", "cache"], registry=self.registry
        )
        self.served_age = Histogram(
            "pricefeed_served_age_seconds",
            "age of served quotes",
            ["tier"],
            buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=self.registry,
        )
        self.emergency = Counter(
            "pricefeed_emergency_stale",
            "last known values served because the chain failed",
            registry=self.registry,
        )
        self.served_log: deque[tuple[float, int, str]] = deque(maxlen=50_000)  # (at, tier, cache)
        self.latencies: deque[tuple[float, float]] = deque(maxlen=20_000)  # (at, seconds)
        self.ages: dict[int, deque[tuple[float, float]]] = defaultdict(lambda: deque(maxlen=5_000))
        self.errors: deque[tuple[float, bool]] = deque(maxlen=20_000)  # (at, was a 5xx)
        self._children: dict[tuple, object] = {}  # bounded: routes x statuses, tiers x labels

    def served(self, tier: int, cache: str, age: float) -> None:
        now = time.time()
        self.served_log.append((now, tier, cache))
        self._child(self.served_total, str(tier), cache).inc()
        self._child(self.served_age, str(tier)).observe(age)
        self.ages[tier].append((now, age))

    def request(self, route: str, status: int, seconds: float) -> None:
        now = time.time()
        self._child(self.requests, route, str(status)).inc()
        self.latency.observe(seconds)
        self.latencies.append((now, seconds))
        self.errors.append((now, status >= 500))

    def emergency_served(self) -> int:
        """Last known values served because the chain failed, since start."""
        # read through the registry: prometheus_client offers no public getter on a Counter
        return int(self.registry.get_sample_value("pricefeed_emergency_stale_total") or 0)

    def _child(self, metric, *labels: str):
        """The metric's child for these labels, looked up by prometheus_client once: on every
        request, `labels()` would check and lock each time."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child


def percentiles(values: list[float], qs=(50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles; zeros when there is nothing to rank."""
    if not values:
        return {f"p{q}": 0.0 for q in qs}
    ordered = sorted(values)
    return {
        f"p{q}": ordered[min(len(ordered) - 1, max(0, -(-q * len(ordered) // 100) - 1))] for q in qs
    }


def recent(samples, now: float, window: float = WINDOW) -> list[float]:
    return [v for at, v in samples if now - at <= window]
