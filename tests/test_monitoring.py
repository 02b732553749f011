"""Metrics (JSON and Prometheus), alerts and health tell operators what is going on."""

from __future__ import annotations

from conftest import on_app

from pricefeed.metrics import Metrics
from pricefeed.web.alerts import Alerts
from pricefeed.web.status import Sampler


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


def test_alerts_fire_at_the_architectures_thresholds_and_remember_since_when():
    alerts = Alerts()
    calm = {
        "requests": 100,
        "hitRate": 0.9,
        "latencyMs": {"p95": 20},
        "queueStats": {"waiting": 3},
        "errorRate": 0.0,
    }
    assert alerts.evaluate(calm, now=100.0) == []
    rough = calm | {
        "hitRate": 0.7,
        "latencyMs": {"p95": 650},
        "queueStats": {"waiting": 1500},
        "errorRate": 0.08,
    }
    fired = alerts.evaluate(rough, now=200.0)
    assert {a.name for a in fired} == {
        "low_hit_rate",
        "slow_p95",
        "queue_backlog",
        "high_error_rate",
    }
    assert {a.since for a in alerts.evaluate(rough, now=260.0)} == {200.0}
    assert alerts.evaluate(calm, now=300.0) == []
    assert alerts.evaluate(rough | {"requests": 5}, now=400.0)[0].name in {
        "slow_p95",
        "queue_backlog",
    }


async def test_errors_from_the_chain_raise_the_error_rate_alert(service, proxy):
    upstream = proxy()
    upstream.faults.status = 500
    async with service([upstream.url], retries=1, deadline=1) as client:
        for i in range(25):
            await client.get("/price/devchain/WETH/USDC", params={"amount": str(i + 1)})
        alerts = (await client.get("/alerts")).json()["alerts"]
    assert "high_error_rate" in {a["name"] for a in alerts}


async def test_health_reports_each_part(service):
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        health = await client.get("/health")
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "ok"
    assert body["database"] == "ok"
    state = body["chains"]["devchain"].pop("state")
    assert body["chains"]["devchain"] == {
        "chainId": 31337,
        "endpoints": 1,
        "usable": 1,
        "inUse": True,
    }
    assert state["block"] >= 1 and state["ageSeconds"] >= 0 and state["lastError"] == ""
    assert (state["disagreements"], state["shadowMismatches"]) == (0, 0)
    assert body["memory"]["rssMb"] > 10
    assert (live.status_code, ready.status_code) == (200, 200)


async def test_health_is_503_when_every_endpoint_of_a_chain_in_use_is_down(service, proxy):
    upstream = proxy()
    async with service([upstream.url], retries=1, deadline=1, breaker_failures=1) as client:
        await client.get("/price/devchain/WETH/USDC")
        upstream.faults.status = 500
        await client.get("/price/devchain/WBTC/USDC")
        health = await client.get("/health")
    assert health.status_code == 503
    assert health.json()["chains"]["devchain"]["usable"] == 0


async def test_chart_samples_are_written_to_the_store(service):
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        await client.get("/price/devchain/WETH/USDC")
        services = client.app.state.services
        await on_app(client, Sampler(services).sample)
        rows = await on_app(client, services.store.samples, "hit_rate", 0.0)
    assert rows and rows[-1][1] == "4" and rows[-1][2] == 0.5
