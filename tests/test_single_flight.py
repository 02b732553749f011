"""Concurrent requests for one key share one fetch."""

from __future__ import annotations

import asyncio


async def test_a_hundred_concurrent_identical_misses_cause_one_upstream_quote(service, proxy):
    recorder = proxy()
    recorder.faults.delay = (0.3, 0.3)  # keep the fetch in flight while the others arrive
    async with service([recorder.url]) as client:
        await client.get("/price/devchain/WETH/USDC", params={"amount": "7"})  # learn the pools
        feed = client.app.state.feed
        before, recorder_before = feed.fetcher.upstream_quotes, recorder.methods["eth_call"]

        answers = await asyncio.gather(
            *(client.get("/price/devchain/WETH/USDC", params={"amount": "2"}) for _ in range(100))
        )

    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["amountOutRaw"] for a in answers}) == 1
    assert feed.fetcher.upstream_quotes - before == 1
    assert recorder.methods["eth_call"] - recorder_before == 0  # from the pools' held state
