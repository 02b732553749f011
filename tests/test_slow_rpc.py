"""Behind an RPC that takes 2-5 s per request, the cache answers at once, and refreshes cost
no calls once the pools are held."""

from __future__ import annotations

from datetime import datetime

from conftest import on_app

from pricefeed.jobs.scheduler import Scheduler

PAIRS = [("WETH", "USDC"), ("WBTC", "USDC"), ("DAI", "USDC"), ("UNI", "USDC"), ("UNI", "WETH")]
SLOW = {"request_timeout": 20.0, "hedge_after": 1.5, "deadline": 60.0}


async def test_behind_a_slow_rpc_cached_pairs_answer_and_refresh_in_one_call(service, proxy):
    slow = proxy()
    slow.faults.delay = (2.0, 5.0)
    # the test flushes to the store itself: no background flush to race with it
    cache = {"fetch_deadline": 60.0, "flush_interval": 3600.0}
    async with service([slow.url], cache=cache, **SLOW) as client:
        batch = {"pairs": [{"chain": "devchain", "tokenIn": a, "tokenOut": b} for a, b in PAIRS]}
        cold = (await client.post("/prices", json=batch)).json()["results"]
        assert [r["cache"] for r in cold] == ["miss"] * 5
        # pool look-ups, then every pool's state (V2 reserves and V3 pools side by side)
        assert slow.methods["eth_call"] == 3

        slow.reset_counts()
        cached = [(await client.get(f"/price/devchain/{a}/{b}")).json() for a, b in PAIRS]
        assert [(c["cache"], c["stale"]) for c in cached] == [("hit", False)] * 5
        # no look-up, no read (the follower's head reads go on beside, as every block)
        assert slow.methods["eth_call"] == 0, slow.methods

        feed = client.app.state.feed
        for a, b in PAIRS:  # tier 1: refreshed every 5 s, fresh for 10 s
            await on_app(client, feed.ranking.pin, "devchain", a, b, 1)
        client.clock.advance(6)
        await on_app(client, feed.flush)  # what was requested reaches the store, as every second
        slow.reset_counts()
        scheduler = Scheduler(feed.store, client.app.state.queue, recent=3600, clock=client.clock)
        assert await on_app(client, scheduler.tick) == 5
        assert slow.methods["eth_call"] == 0  # refreshed from held state, caught up to the head

        refreshed = [(await client.get(f"/price/devchain/{a}/{b}")).json() for a, b in PAIRS]
        assert all(r["cache"] == "hit" and r["tier"] == 1 for r in refreshed)
        # fetched after the clock moved on: refreshed, not the answers of before
        at = datetime.fromisoformat
        pairs = zip(refreshed, cached, strict=True)
        assert all(at(r["fetchedAt"]) > at(c["fetchedAt"]) for r, c in pairs)

        client.clock.advance(11)  # past tier 1's TTL: served at once, flagged, refreshed behind
        stale = (await client.get("/price/devchain/WETH/USDC")).json()
        assert (stale["cache"], stale["stale"]) == ("stale", True)
