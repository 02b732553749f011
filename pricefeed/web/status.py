"""What operators see, built once: the /metrics JSON and health, from the running parts.

The dashboard and the Prometheus collector render these same dictionaries, and `sampler` keeps
some of their figures for charts; nothing here is computed twice.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.follower import Followers
from pricefeed.chain.rpc.budget import PRIORITIES, Budget
from pricefeed.jobs.background import Background
from pricefeed.jobs.queue import RefreshQueue
from pricefeed.metrics import WINDOW, Metrics, percentiles, recent
from pricefeed.serving.feed import Feed
from pricefeed.store import Store
from pricefeed.web.alerts import Alerts


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
        "cache": {"size": len(s.feed.memo.l1), "capacity": s.feed.memo.l1.size},
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
    database = await _database_health(s.store)
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


async def _database_health(store: Store) -> str:
    """`ok`, or why not: the store does not answer, or its writes fail."""
    try:
        await store.ping()
    except Exception as e:
        return f"error: {e}"
    if store.write_error is not None:
        return f"writes failing since {store.write_error[0]:.0f}: {store.write_error[1]}"
    return "ok"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
