"""Alerts with the architecture's thresholds, evaluated continuously, remembered since when."""

from __future__ import annotations

from dataclasses import dataclass

MIN_REQUESTS = 20  # fewer requests in the window say nothing about rates
BUDGET_FULL_FOR = 10.0  # seconds of waiting for the rate limit before it is news

RULES = {
    "low_hit_rate": (
        "hit rate below 80%",
        lambda m: m["requests"] >= MIN_REQUESTS and m["hitRate"] < 0.80,
    ),
    "slow_p95": ("p95 latency above 500 ms", lambda m: m["latencyMs"]["p95"] > 500),
    "queue_backlog": (
        "more than 1000 refresh jobs waiting",
        lambda m: m["queueStats"]["waiting"] > 1000,
    ),
    "high_error_rate": (
        "error rate above 5%",
        lambda m: m["requests"] >= MIN_REQUESTS and m["errorRate"] > 0.05,
    ),
    "rpc_budget_full": (
        f"an RPC endpoint's rate limit has had requests waiting for {BUDGET_FULL_FOR:g} s",
        lambda m: any(
            e["budget"]["fullForSeconds"] >= BUDGET_FULL_FOR
            for chain in m.get("rpc", {}).values()
            for e in chain["endpoints"]
        ),
    ),
    "state_disagrees": (
        "followed pool state differed from a fresh read",
        lambda m: any(c["disagreements"] for c in m.get("state", {}).values()),
    ),
    "shadow_mismatch": (
        "a quote differed from the chain's own at its block",
        lambda m: any(c["shadow"]["mismatches"] for c in m.get("state", {}).values()),
    ),
}


@dataclass
class Alert:
    name: str
    message: str
    since: float  # epoch seconds


class Alerts:
    def __init__(self) -> None:
        self.active: dict[str, Alert] = {}

    def evaluate(self, metrics: dict, now: float) -> list[Alert]:
        """Raise what the figures call for, clear what they no longer do; returns the active."""
        for name, (message, firing) in RULES.items():
            if firing(metrics):
                self.active.setdefault(name, Alert(name, message, now))
            else:
                self.active.pop(name, None)
        return list(self.active.values())
