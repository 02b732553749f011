"""A hung primary endpoint is answered for by the next one, hedged."""

from __future__ import annotations

from pricefeed.chain.rpc import RpcPool
from pricefeed.config import RpcSettings
from pricefeed.devchain.node import rpc


async def test_a_hung_primary_is_answered_for_by_the_next_endpoint(anvil, proxy):
    hung, healthy = proxy(), proxy()
    hung.faults.hang = True
    settings = RpcSettings(hedge_after=1.0, request_timeout=60.0)
    pool = RpcPool("devchain", [hung.url, healthy.url], settings)

    head = await pool.request("eth_blockNumber", [])
    hung_answered = len(hung.timeline)  # requests the hung proxy has finished, so far

    assert int(head, 16) == int(rpc(anvil.url, "eth_blockNumber"), 16)
    assert hung.methods["eth_blockNumber"] == 1
    assert healthy.methods["eth_blockNumber"] == 1
    assert hung_answered == 0  # answered by the hedge, not after the primary's 60 s timeout
    await pool.close()


async def test_a_quote_goes_through_while_the_primary_hangs(engine_via, proxy):
    hung, healthy = proxy(), proxy()
    hung.faults.hang = True
    engine = engine_via([hung.url, healthy.url])

    quote = await engine.quote("devchain", "WETH", "USDC", "1")

    assert quote.amount_out_raw > 0
    assert healthy.methods["eth_call"] >= 1
