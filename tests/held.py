"""Test helpers for held pool state: pools held for a few pairs, and a fresh read to compare."""

from __future__ import annotations

from pricefeed.chain.v3state import load_words_of, read_v3_pools

HELD = [("WETH", "USDC"), ("WBTC", "WETH"), ("UNI", "WETH"), ("LINK", "USDC")]


async def hold_pools(engine):
    chain = engine.chains.get("devchain")
    requests = [(await engine.request("devchain", a, b, "1"))[1] for a, b in HELD]
    state = engine.state(chain)
    await state.quote_many(requests)
    return state, requests


async def equals_a_fresh_read(state) -> bool:
    run_at, block = state.quoter.call_at, state.states.block
    fresh = await read_v3_pools(list(state.states.v3), run_at, block)
    await load_words_of(
        fresh, {a: list(p.bitmap) for a, p in state.states.v3.items()}, run_at, block
    )
    return all(p.agrees_with(fresh[a]) for a, p in state.states.v3.items())
