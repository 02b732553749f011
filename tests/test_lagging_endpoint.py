"""An endpoint behind the others is demoted."""

from __future__ import annotations

from pricefeed.devchain.node import rpc


async def test_a_lagging_endpoint_is_demoted(anvil, engine_via, proxy):
    for _ in range(10):
        rpc(anvil.url, "evm_mine")
    lagging, current = proxy(), proxy()
    lagging.faults.lag = 6
    engine = engine_via([lagging.url, current.url], max_lag_blocks=3)
    quoter = engine.quoter(engine.chains.get("devchain"))

    quote = await engine.quote("devchain", "WETH", "USDC", "1")

    slow, fast = quoter.rpc.endpoints
    assert quoter.rpc.is_lagging(slow)
    assert quoter.rpc.ranked()[0] is fast
    assert quote.block_number == int(rpc(anvil.url, "eth_blockNumber"), 16)
