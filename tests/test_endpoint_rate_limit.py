"""Each endpoint is held to its own rate limit."""

from __future__ import annotations

import asyncio
import time

from pricefeed.chain.rpc import RpcPool
from pricefeed.config import RpcSettings


async def test_each_endpoint_is_held_to_its_rate_limit(proxy):
    counted = proxy()
    pool = RpcPool("devchain", [counted.url], RpcSettings(rate_limit=5))

    started = time.monotonic()
    burst = [asyncio.ensure_future(pool.request("eth_blockNumber", [])) for _ in range(15)]
    await asyncio.sleep(0.5)
    reached_early = counted.http_requests
    elapsed = time.monotonic() - started  # the bound below, not an assertion on time
    await asyncio.gather(*burst)

    # a bucket of 5, refilled at 5 per second: a busy box that sleeps longer raises the bound
    assert reached_early <= 5 + 5 * elapsed + 1
    assert counted.http_requests == 15  # all served, none dropped
    await pool.close()
