"""Cached-path figures of a real server behind a slow RPC: latency, throughput, job start.

Starts the bench's world (anvil with the devchain, a market, a proxy adding `latency` seconds to
every RPC request) in its own process and `pricefeed run` on a free port; both are stopped at
the end. Throughput of a cached GET /price is measured with wrk beside a minimal ASGI app that
answers the same bytes on the same server (and, with `nginx`, beside nginx serving them as a
static file): the ratios say how much of the cost is the service's own.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import msgspec

from pricefeed.bench.harness import service, summary
from pricefeed.bench.throughput import load, minimal_server, nginx_server
from pricefeed.bench.world import World
from pricefeed.store import Store

PAIRS = [("WETH", "USDC"), ("WBTC", "USDC"), ("DAI", "USDC"), ("LINK", "USDC"), ("UNI", "WETH")]


def run(
    latency: tuple[float, float],
    requests: int,
    connections: int,
    seconds: float,
    out: Path | None,
    with_nginx: bool = False,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp, World(Path(tmp), latency, 25.0, tail=0) as world:
        data = Path(tmp)
        asyncio.run(_short_tier4_ttl(data))
        figures: dict = {"rpcLatencySeconds": list(latency)}
        with service(world.config, data, PRICEFEED__CACHE__RETIER_INTERVAL="3600") as (base, log):
            with httpx.Client(base_url=base, timeout=120) as client:
                started = time.perf_counter()
                batch = {
                    "pairs": [{"chain": "devchain", "tokenIn": a, "tokenOut": b} for a, b in PAIRS]
                }
                client.post("/prices", json=batch).raise_for_status()
                figures["coldBatchSeconds"] = round(time.perf_counter() - started, 2)
                figures["cachedSequentialMs"] = _sequential(client, requests)
                figures["baselineHealthLiveMs"] = _sequential(client, requests, path="/health/live")
            figures["throughput"] = throughput(base, world.config, connections, seconds, with_nginx)
            figures["onDemandJobStartMs"] = _job_start(base, log)
            figures["rpcHttpRequestsWholeRun"] = world.counts()["httpRequests"]
    if out:
        out.write_text(json.dumps(figures, indent=2))
    return figures


async def _short_tier4_ttl(data: Path) -> None:
    """Tier 4 fresh for 1 s, so the job-start probe can make a stale quote quickly."""
    store = Store(f"sqlite+aiosqlite:///{data}/pricefeed.db")
    await store.open()
    tier4 = (await store.tiers())[4]
    await store.save_tier(msgspec.structs.replace(tier4, ttl=1.0))
    await store.close()


def _sequential(client: httpx.Client, n: int, path: str | None = None) -> dict:
    """Client-side latency of cached GETs (or of `path`, a baseline), one at a time."""
    latencies = []
    for i in range(n):
        a, b = PAIRS[i % len(PAIRS)]
        started = time.perf_counter()
        answer = client.get(path or f"/price/devchain/{a}/{b}")
        latencies.append(time.perf_counter() - started)
        assert path or answer.json()["cache"] in ("hit", "stale"), answer.text
    return summary(latencies)


def throughput(base: str, config: Path, connections: int, seconds: float, nginx: bool) -> dict:
    """Cached GET /price on the service, then the same bytes from the minimal app (and nginx)."""
    a, b = PAIRS[0]
    path = f"/price/devchain/{a}/{b}"
    answer = httpx.get(base + path, timeout=60)
    assert answer.json()["cache"] in ("hit", "stale"), answer.text
    body, headers = answer.content, list(answer.headers.items())
    figures = {
        "path": path,
        "bodyBytes": len(body),
        "service": load(base + path, connections, seconds),
    }
    figures["serviceAnsweredAfter"] = httpx.get(base + path, timeout=60).json()["cache"]
    with minimal_server(body, headers, config) as url:
        figures["minimalAsgi"] = load(url + path, connections, seconds)
    if nginx:
        with nginx_server(body, headers, path) as url:
            figures["nginx"] = load(url + path, connections, seconds)
    figures["ratios"] = ratios(figures)
    return figures


def ratios(figures: dict) -> dict:
    """Requests per second of the service over each reference (1.0: as fast as it)."""
    rate = {
        k: v["requestsPerSecond"]
        for k, v in figures.items()
        if isinstance(v, dict) and "requestsPerSecond" in v
    }
    out = {"serviceOverMinimalAsgi": round(rate["service"] / rate["minimalAsgi"], 3)}
    if "nginx" in rate:
        out["serviceOverNginx"] = round(rate["service"] / rate["nginx"], 3)
        out["minimalAsgiOverNginx"] = round(rate["minimalAsgi"] / rate["nginx"], 3)
    return out


def throughput_text(figures: dict) -> str:
    t = figures["throughput"]
    lines = [
        f"cached GET {t['path']} ({t['bodyBytes']} bytes), {t['service']['tool']}, {t['service']['connections']} connections, {t['service']['seconds']:g} s"
    ]
    for name in ("service", "minimalAsgi", "nginx"):
        if name in t:
            f = t[name]
            lines.append(
                f"  {name:12} {f['requestsPerSecond']:>8} req/s   non-2xx {f['non2xx']}   p50 {f.get('latencyP50', '-')} p99 {f.get('latencyP99', '-')}"
            )
    lines += [f"  {k}: {v}" for k, v in t["ratios"].items()]
    return "\n".join(lines)


def _job_start(base: str, log: Path, trials: int = 10) -> dict:
    """From a stale request on an idle server to its refresh job starting (server log times)."""
    delays = []
    for i in range(trials):
        a, b = PAIRS[i % len(PAIRS)]
        time.sleep(2.0)  # idle: the consumer has backed off to its longest poll
        sent = time.time()
        answer = httpx.get(f"{base}/price/devchain/{a}/{b}").json()
        if answer["cache"] != "stale":
            continue
        started = _first_execution_after(log, sent)
        if started is not None:
            delays.append(started - sent)
    return summary(delays) | {"trials": len(delays)}


def _first_execution_after(log: Path, after: float, timeout: float = 10.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") == "huey" and entry["msg"].startswith(
                "Executing pricefeed.tasks.refresh"
            ):
                at = datetime.fromisoformat(entry["ts"]).timestamp()
                if at >= after:
                    return at
        time.sleep(0.05)
    return None
