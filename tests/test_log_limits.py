"""A provider that limits eth_getLogs to a few blocks gets smaller ranges, and the state
followed through them is the same."""

from __future__ import annotations

from conftest import via
from held import equals_a_fresh_read, hold_pools
from web3 import Web3

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.follower import Follower
from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market


async def test_a_block_range_limit_splits_the_logs_request(settings, devchain, proxy):
    limited = proxy()
    limited.faults.max_log_blocks = 3
    engine = QuoteEngine(via(settings, [limited.url]))
    try:
        state, _ = await hold_pools(engine)
        follower = Follower(state)
        await follower.step()
        market = Market(devchain, seed=11)
        fund(market.w3, devchain, market.trader)
        start = state.head.number
        for _ in range(10):
            market.swap()
        limited.reset_counts()

        applied = await follower.step()

        assert Web3(Web3.HTTPProvider(devchain.url)).eth.block_number - start >= 10
        assert applied >= 8 and follower.reorgs == 0
        assert limited.methods["eth_getLogs"] >= 4  # refused at first, then ranges of 3 blocks
        assert limited.refused_logs >= 1
        assert await equals_a_fresh_read(state)
    finally:
        await engine.close()
