"""What operators see, built once: the /metrics JSON, health, and the samples behind charts.

The dashboard renders these same dictionaries; nothing here is computed twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.follower import Followers
from pricefeed.chain.quoter import Quote, QuoteRequest
from pricefeed.chain.rpc.budget import PRIORITIES, Budget
from pricefeed.errors import PricefeedError
from pricefeed.jobs.background import Background
from pricefeed.jobs.queue import RefreshQueue
from pricefeed.metrics import WINDOW, Metrics, percentiles, recent
from pricefeed.model import PairKey
from pricefeed.serving.feed import Feed
from pricefeed.serving.tiers import decayed
from pricefeed.store import Store
from pricefeed.web.alerts import Alerts

log = logging.getLogger(__name__)
ALERT_EVERY = 5.0  # seconds between alert evaluations
SAMPLE_EVERY = 10.0  # seconds between chart samples
RETENTION = 7 * 24 * 3600.0  # seconds of chart history kept


@dataclass
class Services:
    """The parts of a running service, as the views need them."""

    engine: QuoteEngine
    store: Store
    feed: Feed
    queue: RefreshQueue
    metrics: Metrics
    in_process: bool
    followers: Followers | None = None
    alerts: Alerts = field(default_factory=Alerts)
    background: Background | None = None  # this process's own jobs


def state_view(engine: QuoteEngine, followers: Followers | None, now: float) -> dict:
    """Per chain in use: the held pool state, how following it goes, and the shadow check.
    `disagreements` and `shadow.mismatches` must stay 0."""
    out = {}
    for name, state in engine.states().items():
        follower = followers.by_chain.get(name) if followers else None
        shadow = state.shadow
        out[name] = {
            "block": state.head.number if state.head else None,
            "ageSeconds": round(now - state.confirmed_at, 3) if state.head else None,
            "pools": {"v2": len(state.states.reserves), "v3": len(state.states.v3)},
            "loads": state.loads,
            "wordLoads": state.states.word_loads,
            "following": follower is not None,
            "steps": follower.steps if follower else 0,
            "logsApplied": follower.logs if follower else 0,
            "reorgs": follower.reorgs if follower else 0,
            "withoutLogs": follower.without_logs if follower else False,  # read, not followed
            "rereads": follower.rereads if follower else 0,
            "checked": follower.checks if follower else 0,
            "disagreements": follower.disagreements if follower else 0,
            "lastError": follower.last_error if follower else "",
            "shadow": {
                "checked": shadow.checked if shadow else 0,
                "mismatches": shadow.mismatches if shadow else 0,
                "notChecked": shadow.failed if shadow else 0,
                "lastMismatch": shadow.last_mismatch if shadow else None,
            },
        }
    return out


def rpc_view(engine: QuoteEngine) -> dict:
    """Per chain in use: endpoint health (URLs redacted), calls and errors, calls by DEX."""
    out = {}
    for name, quoter in engine.quoters().items():
        pool = quoter.rpc
        best = pool.best_head()
        endpoints = [
            {
                "url": e.label,
                "state": e.state,
                "latencyMs": round(e.latency.value * 1000, 1)
                if e.latency.value is not None
                else None,
                "errorRate": round(e.error_rate.value or 0.0, 4),
                "head": e.head,
                "lag": best - e.head if best is not None and e.head is not None else None,
                "lagging": pool.is_lagging(e),
                "requests": e.requests,
                "failures": e.failures,
                "lastError": e.last_error,
                "budget": budget_view(e.budget),
            }
            for e in pool.endpoints
        ]
        out[name] = {
            "calls": sum(e.requests for e in pool.endpoints),
            "errors": sum(e.failures for e in pool.endpoints),
            "multicalls": quoter.eth_calls,
            "usableEndpoints": sum(e.can_try() for e in pool.endpoints),
            "endpoints": endpoints,
            "dexes": {
                v: {"calls": quoter.dex_calls[v], "errors": quoter.dex_failures[v]}
                for v in quoter.venues
            },
        }
    return out


def budget_view(budget: Budget) -> dict:
    """An endpoint's rate limit as a budget: what went through, by priority, and what waits."""
    return {
        "ratePerSecond": budget.rate,
        "spent": {name: budget.spent[name] for name in PRIORITIES.values()},
        "waiting": budget.waiting(),
        "fullForSeconds": round(budget.full_for(), 1),  # requests waiting without a break
        "fullSeconds": round(budget.full_seconds + budget.full_for(), 1),  # ever
    }


def queue_view(queue: RefreshQueue, waiting: int) -> dict:
    return {
        "active": queue.active,
        "waiting": waiting,
        "completed": queue.outcomes["completed"],
        "failed": queue.outcomes["failed"],
        "expired": queue.outcomes["expired"],
    }


def background_view(background: Background | None) -> dict:
    """This process's own jobs (see `background.py`): queued, and runs and failures by job."""
    if background is None:
        return {"waiting": 0, "jobs": {}}
    return {
        "waiting": background.waiting(),
        "jobs": {
            name: {"ran": background.ran[name], "failed": background.failed[name]}
            for name in background.jobs
        },
    }


def tiers_view(metrics: Metrics, feed: Feed, now: float) -> dict:
    out = {}
    window = [(tier, cache) for at, tier, cache in metrics.served_log if now - at <= WINDOW]
    for number, tier in sorted(feed.ranking.tiers.items()):
        counts = Counter(cache for t, cache in window if t == number)
        total = sum(counts.values())
        ages = recent(metrics.ages[number], now)
        out[str(number)] = {
            "hits": counts["hit"],
            "stale": counts["stale"],
            "misses": counts["miss"],
            "hitRate": round((counts["hit"] + counts["stale"]) / total, 4) if total else None,
            "servedAgeMs": {
                "avg": round(1000 * sum(ages) / len(ages)) if ages else None,
                "p95": round(1000 * percentiles(ages, (95,))["p95"]) if ages else None,
            },
            "settings": {
                "refresh": tier.refresh,
                "ttl": tier.ttl,
                "staleLimit": tier.stale_limit,
                "size": tier.size,
            },
            "pairs": sum(1 for t in feed.ranking.pair_tiers.values() if t == number),
        }
    return out


async def metrics_json(s: Services, now: float | None = None) -> dict:
    """The architecture's metrics, and the rest an operator needs, over the last WINDOW seconds."""
    now = time.time() if now is None else now
    m = s.metrics
    served = Counter(cache for at, _, cache in m.served_log if now - at <= WINDOW)
    hits, misses = served["hit"] + served["stale"], served["miss"]
    latencies = recent(m.latencies, now)
    errors = recent(m.errors, now)
    waiting = await asyncio.to_thread(s.queue.waiting)
    snapshot = {
        "cacheHits": hits,
        "cacheMisses": misses,
        "staleServed": served["stale"],
        "hitRate": round(hits / (hits + misses), 4) if hits + misses else None,
        "avgResponseTime": round(1000 * sum(latencies) / len(latencies), 3) if latencies else 0.0,
        "latencyMs": {k: round(v * 1000, 3) for k, v in percentiles(latencies).items()},
        "requests": len(latencies),
        "errorRate": round(sum(errors) / len(errors), 4) if errors else 0.0,
        "emergencyServed": m.emergency_served(),
        "queueStats": queue_view(s.queue, waiting),
        "background": background_view(s.background),
        "tiers": tiers_view(m, s.feed, now),
        "rpc": rpc_view(s.engine),
        "state": state_view(s.engine, s.followers, now),
        "cache": {"size": len(s.feed.l1), "capacity": s.feed.l1.size},
        "windowSeconds": WINDOW,
    }
    snapshot["alerts"] = [
        {"name": a.name, "message": a.message, "since": a.since}
        for a in s.alerts.evaluate(snapshot | {"hitRate": snapshot["hitRate"] or 1.0}, now)
    ]
    return snapshot


async def health_json(s: Services) -> tuple[dict, bool]:
    """Health of each part; the service is healthy when the store answers, the consumer (if in
    this process) runs, and no chain in use has lost every endpoint."""
    try:
        await s.store.ping()
        database = "ok"
    except Exception as e:
        database = f"error: {e}"
    if database == "ok" and s.store.write_error is not None:
        database = f"writes failing since {s.store.write_error[0]:.0f}: {s.store.write_error[1]}"
    used = s.engine.quoters()
    chains = {
        c.name: {
            "chainId": c.chain_id,
            "endpoints": len(c.settings.rpc_urls),
            "usable": sum(e.can_try() for e in used[c.name].rpc.endpoints)
            if c.name in used
            else None,
            "inUse": c.name in used,
        }
        for c in s.engine.chains.all
    }
    for name, v in state_view(s.engine, s.followers, time.time()).items():
        chains[name]["state"] = {
            k: v[k] for k in ("block", "ageSeconds", "disagreements", "lastError")
        } | {"shadowMismatches": v["shadow"]["mismatches"]}
    consumer = s.queue.consumer_alive() if s.in_process else None
    ok = (
        database == "ok"  # a failing write shows here too
        and consumer is not False
        and all(v["usable"] != 0 for v in chains.values())
    )
    body = {
        "status": "ok" if ok else "unhealthy",
        "database": database,
        "queue": {"mode": "in-process" if s.in_process else "external", "consumerAlive": consumer},
        "chains": chains,
        "memory": {"rssMb": _rss_mb()},
    }
    return body, ok


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


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


PAIR_ORDERS = {
    "popularity": lambda r: -r["popularity"],
    "tier": lambda r: (r["tier"], -r["popularity"]),
    "pair": lambda r: (r["chain"], r["pair"]),
    "age": lambda r: r["ageMs"] if r["ageMs"] is not None else float("inf"),
    "hits": lambda r: -r["hits"],
}


async def pairs_view(
    feed: Feed, search: str = "", sort: str = "popularity", limit: int = 50, offset: int = 0
) -> dict:
    """Pairs for operators: tier, pin, popularity, hits/misses, last price and its age. Reads
    only: the store's rows with what this process counted since its last flush added on. The
    page's followed pairs show their held state as it is now (sorting is by what was stored:
    quoting every pair for one page would cost a quote computation per pair)."""
    if sort not in PAIR_ORDERS:
        raise PricefeedError(f"sort must be one of {', '.join(PAIR_ORDERS)}, got {sort!r}")
    now = feed.clock()
    async with feed.flushing:  # not midway, when the drained counts are not stored yet
        latest = await feed.store.latest_quotes()
        stored = {
            PairKey(p["chain"], p["token_in"], p["token_out"]): p for p in await feed.store.pairs()
        }
        counted = dict(feed.demand.pairs.items())
    rows, lasts = [], {}
    for key in stored.keys() | counted.keys():
        row, pending = stored.get(key), counted.get(key)
        symbols = (row["symbol_in"], row["symbol_out"]) if row else pending.symbols
        name = f"{symbols[0]}/{symbols[1]}"
        if search and search.lower() not in f"{key.chain} {name}".lower():
            continue
        last = lasts[key] = latest.get(row["id"]) if row else None
        score, score_at = (pending.score, pending.score_at) if pending else (0.0, now)
        if pending is None or (row and row["score_at"] > pending.score_at):
            score, score_at = row["score"], row["score_at"]
        rows.append(
            {
                "chain": key.chain,
                "pair": name,
                "tokenIn": key.token_in,
                "tokenOut": key.token_out,
                "tier": feed.tier(key).tier,
                "pinned": bool(row) and row["pinned_tier"] is not None,
                "popularity": round(decayed(score, score_at, now, feed.settings.half_life), 3),
                "hits": (row["hits"] + row["stale"] if row else 0)
                + (pending.hits + pending.stale if pending else 0),
                "misses": (row["misses"] if row else 0) + (pending.misses if pending else 0),
                "lastPrice": last.quote.price if last else None,
                "lastAmount": f"{last.quote.amount_in} {symbols[0]}" if last else None,
                "ageMs": int((now - last.fetched_at) * 1000) if last else None,
            }
        )
    rows.sort(key=PAIR_ORDERS[sort])
    page = rows[offset : offset + limit]
    for r in page:
        last = lasts[PairKey(r["chain"], r["tokenIn"], r["tokenOut"])]
        if last and (live := _from_held_state(feed, last.quote)):
            price, at = live  # followed every block: as the state is now, not as stored
            r["lastPrice"], r["ageMs"] = price, int((now - at) * 1000)
    return {"total": len(rows), "offset": offset, "limit": limit, "pairs": page}


def _from_held_state(feed: Feed, quote: Quote) -> tuple[str, float] | None:
    """The price of the stored quote's amount from the held state, and when that state was
    last seen at the head; None where the pair's pools are not held (no I/O either way)."""
    state = feed.engine.held(quote.chain)
    if state is None or state.head is None:
        return None
    request = QuoteRequest(quote.token_in, quote.token_out, quote.amount_in_raw)
    answer = state.quote_held(request, observed=False)  # a view: no shadow check for it
    return (answer.price, state.confirmed_at) if isinstance(answer, Quote) else None
