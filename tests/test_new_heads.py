"""With a WebSocket URL, new heads arrive by eth_subscribe: following costs one eth_getLogs a
block over HTTP and no head read, and ends equal to a fresh read."""

from __future__ import annotations

import asyncio

import msgspec
from conftest import via
from held import equals_a_fresh_read, hold_pools
from web3 import Web3

from pricefeed.chain.engine import QuoteEngine
from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market


async def test_new_heads_over_the_socket_drive_the_follower(settings, devchain, proxy):
    recorder = proxy()
    s = via(settings, [recorder.url])
    chain = msgspec.structs.replace(
        s.chains["devchain"], ws_url=devchain.url.replace("http://", "ws://")
    )
    engine = QuoteEngine(msgspec.structs.replace(s, chains={"devchain": chain}))
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    try:
        state, _ = await hold_pools(engine)
        follower = engine.followers()["devchain"]
        market = Market(devchain, seed=21)
        fund(market.w3, devchain, market.trader)
        await follower.step()  # at the head before the socket takes over
        running = asyncio.create_task(follower.run())
        for _ in range(1500):  # counted in polls: a busy box takes longer to subscribe
            if follower.subscribed:
                break
            await asyncio.sleep(0.02)
        assert follower.subscribed, "the follower never subscribed to new heads"
        recorder.reset_counts()
        first = w3.eth.block_number
        for _ in range(8):
            market.swap()
            await asyncio.sleep(0.05)
        for _ in range(600):
            if state.head.number >= w3.eth.block_number:
                break
            await asyncio.sleep(0.05)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        blocks = state.head.number - first

        assert follower.subscribed is False and blocks >= 6
        # the heads came over the socket: no read per block (one, if a head arrived past a gap)
        assert recorder.methods["eth_getBlockByNumber"] <= 1
        # one eth_getLogs a block (the block arriving as the counting began may add one)
        assert 1 <= recorder.methods["eth_getLogs"] <= blocks + 1
        assert await equals_a_fresh_read(state)
    finally:
        await engine.close()
