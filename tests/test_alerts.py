"""Alerts fire at the architecture's thresholds and remember since when."""

from __future__ import annotations

from pricefeed.web.alerts import Alerts


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
