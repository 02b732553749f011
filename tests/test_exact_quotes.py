"""A quote is the best on-chain answer at its block, to the wei, for any amount and pair.

The oracle asks Uniswap's own QuoterV2 and V2 router with plain web3 calls, one route at a
time, at the quote's block: direct pools, two-hop routes through each hub on V2 and on V3, and
V3-then-V2 mixes (the candidate set the quoter documents).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import PAIRS, raw_amounts

from pricefeed.errors import NoRoute


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_quote_is_the_best_on_chain_answer_to_the_wei(engine, devchain, oracle, a, b, data):
    amount = data.draw(raw_amounts(devchain.decimals[a]))
    chain, request = await engine.request("devchain", a, b, "1")
    request = type(request)(request.token_in, request.token_out, amount)
    try:
        quote = await engine.quoter(chain).quote(request)
    except NoRoute:
        best = oracle.best(a, b, amount, "latest")
        assert not best, f"oracle found {best} where the quoter found no route"
        return
    assert quote.amount_out_raw == oracle.best(a, b, amount, quote.block_number)
    with localcontext(prec=100):  # wide enough that the check itself is exact
        assert Decimal(quote.amount_out) * 10 ** devchain.decimals[b] == quote.amount_out_raw
        assert Decimal(quote.amount_in) * 10 ** devchain.decimals[a] == amount


@pytest.mark.parametrize(
    ("a", "b", "amount"),
    [("WBTC", "USDC", "0.5"), ("USDC", "WBTC", "30000"), ("WETH", "WBTC", "2")],
)
async def test_decimals_are_right_both_ways(engine, a, b, amount):
    quote = await engine.quote("devchain", a, b, amount)
    spot_in_usd = {"WBTC": 60000, "USDC": 1, "WETH": 3000}
    expected = Decimal(amount) * spot_in_usd[a] / spot_in_usd[b]
    # seeded prices are within a few percent of the reference; a decimals slip is 100x off
    assert expected * Decimal("0.9") < Decimal(quote.amount_out) < expected * Decimal("1.1")
