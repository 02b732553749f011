"""/metrics and Prometheus count what the service does, with the same figures."""

from __future__ import annotations

from pricefeed.metrics import Metrics


async def test_metrics_count_hits_misses_latency_queue_and_rpc(service):
    async with service() as client:
        for _ in range(4):
            await client.get("/price/devchain/WETH/USDC")
        await client.get("/price/devchain/WETH/NOPE")
        m = (await client.get("/metrics")).json()
    assert (m["cacheHits"], m["cacheMisses"]) == (3, 1)
    assert m["hitRate"] == 0.75
    assert m["tiers"]["4"]["hits"] == 3 and m["tiers"]["4"]["hitRate"] == 0.75
    assert m["latencyMs"]["p99"] >= m["latencyMs"]["p50"] > 0
    assert m["requests"] == 5 and m["errorRate"] == 0.0  # a 404 is the caller's error, not ours
    assert set(m["queueStats"]) >= {"active", "waiting", "completed", "failed"}
    rpc = m["rpc"]["devchain"]
    assert rpc["calls"] >= 3 and rpc["errors"] == 0
    assert rpc["dexes"]["uniswap-v3"]["calls"] >= 1 and rpc["dexes"]["uniswap-v2"]["calls"] >= 1
    assert rpc["endpoints"][0]["state"] == "closed"
    assert m["alerts"] == []


async def test_prometheus_exposition_carries_the_same_figures(service):
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        await client.get("/price/devchain/WETH/USDC")
        text = (await client.get("/metrics/prometheus")).text
    assert 'pricefeed_served_total{cache="hit",tier="4"} 1.0' in text
    assert 'pricefeed_served_total{cache="miss",tier="4"} 1.0' in text
    assert 'pricefeed_rpc_requests_total{chain="devchain"' in text
    assert 'pricefeed_breaker_open{chain="devchain"' in text
    assert 'pricefeed_queue_jobs{state="waiting"}' in text


def test_last_known_values_served_are_counted_through_the_public_registry():
    metrics = Metrics()
    assert metrics.emergency_served() == 0
    metrics.emergency.inc()
    metrics.emergency.inc()
    assert metrics.emergency_served() == 2
