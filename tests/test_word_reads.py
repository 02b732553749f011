"""Tick words a far-reaching swap needs are read beside the held state, not under its lock:
the follower moves on meanwhile, and the answer is still exact at its block."""

from __future__ import annotations

import asyncio

from web3 import Web3


async def test_a_far_swap_reads_its_words_while_the_follower_fetches_logs(
    engine_via, proxy, oracle, devchain
):
    slow = proxy()
    engine = engine_via([slow.url])
    near = await engine.quote("devchain", "WETH", "USDC", "1", from_state=True)  # pools held
    follower = engine.followers()["devchain"]
    Web3(Web3.HTTPProvider(devchain.url)).provider.make_request("evm_mine", [])
    slow.faults.delay = (1.0, 1.0)  # each round trip: the head read, the logs, the words
    slow.reset_counts()

    async def far():
        for _ in range(3000):  # until the follower has the head and is fetching the logs
            if slow.methods["eth_getLogs"]:
                break
            await asyncio.sleep(0.01)
        return await engine.quote("devchain", "WETH", "USDC", "2500", from_state=True)

    quote, _ = await asyncio.gather(far(), follower.step())

    assert engine.held("devchain").states.word_loads > 0
    assert slow.methods["eth_getLogs"] == 1
    # head read, then the logs and the words side by side; under the state's lock the words
    # would have waited for the logs: three round trips one after the other
    assert slow.round_trips() == 2
    raw = int(quote.amount_in_raw)
    assert quote.amount_out_raw == oracle.best("WETH", "USDC", raw, quote.block_number)
    assert quote.block_number > near.block_number
