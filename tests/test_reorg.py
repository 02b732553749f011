"""A reorganisation under the follower is found from block hashes and repaired: the held state
ends equal to a fresh read at the new head, and quotes equal the chain's own there."""

from __future__ import annotations

import time

import pytest
from held import HELD, equals_a_fresh_read, hold_pools
from web3 import Web3

from pricefeed.chain.follower import Follower
from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market


# the new branch is shorter than, as long as, one longer and longer than the old
@pytest.mark.parametrize("new_blocks", [1, 3, 4, 6])
async def test_a_reorg_is_found_and_repaired(engine, devchain, oracle, new_blocks):
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    state, requests = await hold_pools(engine)
    follower = Follower(state)
    await follower.step()
    market = Market(devchain, seed=new_blocks)
    fund(market.w3, devchain, market.trader)
    await follower.step()
    fork = w3.eth.block_number
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    mine(market, w3, fork + 3)
    await follower.step()
    old_branch = state.head

    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    mine(Market(devchain, seed=100 + new_blocks), w3, fork + new_blocks)
    await follower.step()

    assert old_branch.number == fork + 3
    assert follower.reorgs == 1
    assert state.head.number >= fork + new_blocks  # on the new branch
    assert state.head.hash == w3.eth.get_block(state.head.number)["hash"].to_0x_hex()
    assert await equals_a_fresh_read(state)
    for quote, (a, b) in zip(await state.quote_many(requests), HELD, strict=True):
        assert quote.block_number == state.head.number
        assert quote.amount_out_raw == oracle.best(
            a, b, quote.amount_in_raw, quote.block_number, v2_then_v3=True
        )


def mine(market: Market, w3: Web3, head: int) -> None:
    """Swaps until the chain reaches `head` (a swap that would revert mines nothing)."""
    for _ in range(60):
        if w3.eth.block_number >= head:
            return
        before = w3.eth.block_number
        market.swap()
        for _ in range(100):  # anvil answers a transaction before its block is mined
            if w3.eth.block_number != before:
                break
            time.sleep(0.01)
    raise AssertionError(f"the market could not mine up to block {head}")
