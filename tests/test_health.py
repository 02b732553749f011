"""/health reports each part, and is 503 when a chain in use has no endpoint left."""

from __future__ import annotations


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
