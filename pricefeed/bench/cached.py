"""Cached-path figures of a real server behind a slow RPC: latency, throughput, job start.

Starts anvil with the devchain, a proxy adding `latency` seconds to every RPC request, and
`pricefeed run` on a free port; all three are stopped at the end.
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

from pricefeed.bench.harness import config_for, service, summary
from pricefeed.devchain.deploy import deploy
from pricefeed.devchain.node import Anvil
from pricefeed.devchain.rpcproxy import RpcProxy
from pricefeed.store import Store

PAIRS = [("WETH", "USDC"), ("WBTC", "USDC"), ("DAI", "USDC"), ("LINK", "USDC"), ("UNI", "WETH")]


def run(
    latency: tuple[float, float], requests: int, concurrency: int, seconds: float, out: Path | None
) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Anvil() as anvil, RpcProxy(anvil.url) as proxy:
        data = Path(tmp)
        d = deploy(anvil.url)
        proxy.faults.delay = latency
        config = data / "pricefeed.toml"
        config.write_text(config_for(d, proxy.url))
        asyncio.run(_short_tier4_ttl(data))
        figures: dict = {"rpcLatencySeconds": list(latency)}
        with service(config, data, PRICEFEED__CACHE__RETIER_INTERVAL="3600") as (base, log):
            with httpx.Client(base_url=base, timeout=120) as client:
                started = time.perf_counter()
                batch = {
                    "pairs": [{"chain": "devchain", "tokenIn": a, "tokenOut": b} for a, b in PAIRS]
                }
                client.post("/prices", json=batch).raise_for_status()
                figures["coldBatchSeconds"] = round(time.perf_counter() - started, 2)
                figures["cachedSequentialMs"] = _sequential(client, requests)
                figures["baselineHealthLiveMs"] = _sequential(client, requests, path="/health/live")
            figures["cachedConcurrent"] = asyncio.run(_concurrent(base, concurrency, seconds))
            figures["onDemandJobStartMs"] = _job_start(base, log)
            figures["rpcHttpRequestsWholeRun"] = proxy.http_requests
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


async def _concurrent(base: str, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def user(client: httpx.AsyncClient, k: int) -> None:
        while time.perf_counter() < deadline:
            a, b = PAIRS[k % len(PAIRS)]
            started = time.perf_counter()
            (await client.get(f"/price/devchain/{a}/{b}")).raise_for_status()
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(user(client, k) for k in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requestsPerSecond": round(len(latencies) / elapsed),
        **summary(latencies),
    }


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
