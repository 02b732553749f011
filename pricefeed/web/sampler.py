"""The chart samples: a few figures of `metrics_json` kept in the store, and the alerts job."""

from __future__ import annotations

import time

from pricefeed.web.status import Services, metrics_json

ALERT_EVERY = 5.0  # seconds between alert evaluations
SAMPLE_EVERY = 10.0  # seconds between chart samples
RETENTION = 7 * 24 * 3600.0  # seconds of chart history kept


class Sampler:
    """Writes a few figures every SAMPLE_EVERY seconds, so charts have history after restarts."""

    def __init__(self, services: Services):
        self.s = services
        self._last: dict[str, float] = {}
        self._pruned_at = 0.0

    async def sample(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        snap = await metrics_json(self.s, now)
        values: dict[tuple[str, str], float] = {}
        for q, v in snap["latencyMs"].items():
            values[("latency_ms", q)] = v
        for tier, t in snap["tiers"].items():
            if t["hitRate"] is not None:
                values[("hit_rate", tier)] = t["hitRate"]
            if t["servedAgeMs"]["avg"] is not None:
                values[("served_age_ms", tier)] = t["servedAgeMs"]["avg"]
        values[("queue_waiting", "")] = snap["queueStats"]["waiting"]
        values[("queue_done_per_min", "")] = self._per_minute(
            "queue_done", snap["queueStats"]["completed"], now
        )
        for chain, r in snap["rpc"].items():
            values[("rpc_calls_per_min", chain)] = self._per_minute(f"rpc:{chain}", r["calls"], now)
            values[("rpc_errors_per_min", chain)] = self._per_minute(
                f"err:{chain}", r["errors"], now
            )
            for dex, d in r["dexes"].items():
                label = f"{chain}/{dex}"
                values[("dex_calls_per_min", label)] = self._per_minute(
                    f"dex:{label}", d["calls"], now
                )
                values[("dex_errors_per_min", label)] = self._per_minute(
                    f"dexerr:{label}", d["errors"], now
                )
        await self.s.store.add_samples(now, values)
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            await self.s.store.prune_samples(now - RETENTION)

    async def alerts(self) -> None:
        """The background job between samples: the alerts evaluated (`metrics_json` does)."""
        await metrics_json(self.s)

    def _per_minute(self, name: str, total: float, now: float) -> float:
        previous = self._last.get(name), self._last.get(name + "@")
        self._last[name], self._last[name + "@"] = total, now
        if previous[0] is None or previous[1] is None or now <= previous[1]:
            return 0.0
        return round((total - previous[0]) * 60 / (now - previous[1]), 3)
