"""Our V3 swap math equals QuoterV2 on the devchain to the wei: any amount, both directions,
every V3 pool and fee tier, ticks crossed and liquidity exhausted."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractLogicError

from pricefeed.chain.v3 import MathError
from pricefeed.chain.v3.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from pricefeed.chain.v3state import quote_exact_input, read_v3_pool, read_v3_pools_at_once
from pricefeed.devchain.build import uniswap_artifact
from pricefeed.devchain.deploy import POOLS, fund
from pricefeed.devchain.market import Market

V3_POOLS = [p for p in POOLS if p.dex == "v3"]
STATES: dict = {}


def test_the_tick_bounds_give_the_documented_ratios():
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(0) == 2**96


@given(st.integers(MIN_TICK, MAX_TICK))
def test_a_sqrt_ratio_is_the_square_root_of_its_price(tick):
    with localcontext() as ctx:
        ctx.prec = 100
        exact = (Decimal("1.0001") ** tick).sqrt() * 2**96
        # off by the final rounding up at most, and by nothing a wrong factor would cause
        assert abs(get_sqrt_ratio_at_tick(tick) - exact) <= 1 + exact * Decimal("1e-18")


@given(st.integers(MIN_TICK + 1, MAX_TICK - 1))
def test_the_tick_of_a_ratio_is_the_greatest_at_or_below_it(tick):
    ratio = get_sqrt_ratio_at_tick(tick)

    assert get_tick_at_sqrt_ratio(ratio) == tick
    assert get_tick_at_sqrt_ratio(ratio - 1) == tick - 1


@pytest.fixture(scope="module")
def quoterv2(devchain):
    """QuoterV2, on pools a random market has swapped through and minted and burned in."""
    market = Market(devchain, seed=9)
    fund(market.w3, devchain, market.trader)
    for _ in range(10):
        market.swap(), market.mint(), market.swap(), market.burn()
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    return w3, w3.eth.contract(devchain.quoter, abi=uniswap_artifact("QuoterV2").abi)


def onchain(quoter, token_in, token_out, fee, amount, block) -> int | None:
    try:
        fn = quoter.functions.quoteExactInputSingle((token_in, token_out, amount, fee, 0))
        return fn.call(block_identifier=block)[0]
    except ContractLogicError:
        return None


def amounts():
    """From one raw unit to far past any pool's depth, spread over the magnitudes."""
    return st.integers(0, 30).flatmap(lambda d: st.integers(10**d, 10 ** (d + 1)))


@pytest.mark.parametrize("spec", V3_POOLS, ids=[f"{p.a}-{p.b}-{p.fee}" for p in V3_POOLS])
@pytest.mark.parametrize("reader", [True, False], ids=["one-call reader", "multicalls"])
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(zero_for_one=st.booleans(), amount=amounts())
async def test_a_swap_equals_quoterv2_to_the_wei(
    devchain, engine, quoterv2, spec, reader, zero_for_one, amount
):
    w3, quoter = quoterv2
    address = next(a for s, a in devchain.pools if s == spec)
    t0, t1 = sorted((devchain.tokens[spec.a], devchain.tokens[spec.b]), key=lambda a: int(a, 16))
    token_in, token_out = (t0, t1) if zero_for_one else (t1, t0)
    chain_quoter = engine.quoter(engine.chains.get("devchain"))
    run_at, block = chain_quoter.call_at, w3.eth.block_number

    if (address, block, reader) not in STATES:  # one read per pool and block: swaps keep it
        STATES[address, block, reader] = (
            (await read_v3_pools_at_once([address], chain_quoter.run_code, hex(block), 10**9))[
                address
            ]
            if reader  # words past an empty stretch held as a span, crossed in one jump
            else await read_v3_pool(address, run_at, hex(block))
        )
    pool = STATES[address, block, reader]
    try:
        ours, _ = await quote_exact_input(pool, address, zero_for_one, amount, run_at, hex(block))
    except MathError:
        ours = None  # where the pool reverts

    assert ours == onchain(quoter, token_in, token_out, spec.fee, amount, block)


async def test_a_swap_past_the_loaded_words_loads_them_and_stays_exact(devchain, engine, quoterv2):
    w3, quoter = quoterv2
    spec = next(p for p in V3_POOLS if p.fee == 500 and p.concentrated)
    address = next(a for s, a in devchain.pools if s == spec)
    t0, t1 = sorted((devchain.tokens[spec.a], devchain.tokens[spec.b]), key=lambda a: int(a, 16))
    run_at = engine.quoter(engine.chains.get("devchain")).call_at
    block = w3.eth.block_number
    pool = await read_v3_pool(address, run_at, hex(block))
    words_before = len(pool.bitmap)

    ours, loads = await quote_exact_input(pool, address, True, 10**30, run_at, hex(block))

    assert loads >= 1 and len(pool.bitmap) > words_before  # it went and read what it lacked
    assert ours == onchain(quoter, t0, t1, spec.fee, 10**30, block)


SEEDED = [p for p in V3_POOLS if p.depth_usd]


@pytest.mark.parametrize("spec", SEEDED, ids=[f"{p.a}-{p.b}-{p.fee}" for p in SEEDED])
async def test_seeded_pools_hold_positions_on_both_sides_of_the_price(devchain, engine, spec):
    address = next(a for s, a in devchain.pools if s == spec)
    run_at = engine.quoter(engine.chains.get("devchain")).call_at
    pool = await read_v3_pool(address, run_at, "latest")
    inner = [t for t in pool.liquidity_net if abs(t) < 800_000]  # not the full-range ends
    below = [t for t in inner if t <= pool.tick]
    above = [t for t in inner if t > pool.tick]

    assert len(below) >= 3 and len(above) >= 3
    assert pool.tick - max(below) <= 1000 and min(above) - pool.tick <= 1000
