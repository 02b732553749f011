"""Cached-path figures of a real server behind a slow RPC: latency and throughput.

Starts the bench's world (anvil with the devchain, a market, a proxy adding `latency` seconds to
every RPC request) in its own process and `pricefeed run` on a free port; both are stopped at
the end. Throughput of a cached GET /price is measured with wrk beside a minimal ASGI app that
answers the same bytes on the same server (and, with `nginx`, beside nginx serving them as a
static file): the ratios say how much of the cost is the service's own.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import httpx

from pricefeed.bench.harness import service, summary
from pricefeed.bench.throughput import load, minimal_server, nginx_server
from pricefeed.bench.world import World

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
        figures: dict = {"rpcLatencySeconds": list(latency)}
        with service(world.config, data, PRICEFEED__CACHE__RETIER_INTERVAL="3600") as (base, _):
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
            figures["rpcHttpRequestsWholeRun"] = world.counts()["httpRequests"]
    if out:
        out.write_text(json.dumps(figures, indent=2))
    return figures


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
