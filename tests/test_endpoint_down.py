"""While the endpoint is down, cached pairs answer stale and new ones get 503; then it recovers.

`PRICEFEED_LONG_FAULTS=1` runs it longer."""

from __future__ import annotations

import asyncio

from conftest import LONG

PAIRS = ["WETH/USDC", "WBTC/USDC", "DAI/USDC"]


async def test_while_the_endpoint_is_down_cached_pairs_answer_stale_and_new_ones_get_503(
    service, proxy
):
    upstream = proxy()
    async with service([upstream.url], retries=1, deadline=1, breaker_cooldown=0.5) as client:
        for pair in PAIRS:
            await client.get(f"/price/devchain/{pair}")
        upstream.faults.status = 503
        client.clock.advance(600)  # past every tier's TTL
        answers = []
        for step in range(30 if not LONG else 300):
            client.clock.advance(200)  # and soon past every stale limit too
            answers.append(await client.get(f"/price/devchain/{PAIRS[step % 3]}"))
        never_cached = await client.get("/price/devchain/LINK/USDC")

        upstream.faults.status = None
        await asyncio.sleep(0.6)  # the breaker's cool-down
        recovered = (await client.get("/price/devchain/WETH/USDC", params={"max_age": "0"})).json()

    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["stale"] for a in answers)
    assert never_cached.status_code == 503 and never_cached.headers["Retry-After"]
    # caught up, by the follower or by this request: within its TTL on the moved clock
    assert recovered["stale"] is False and recovered["cache"] in ("hit", "miss")
