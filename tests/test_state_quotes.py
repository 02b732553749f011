"""Quotes computed from pool state are the best on-chain route at their block, to the wei:
every pair and direction, any amount, V2-then-V3 routes through each hub included."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import PAIRS, raw_amounts

from pricefeed.errors import NoRoute


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_a_state_quote_is_the_best_route_on_chain(engine, devchain, oracle, a, b, data):
    amount = data.draw(raw_amounts(devchain.decimals[a]))
    chain, request = await engine.request("devchain", a, b, "1")
    request = type(request)(request.token_in, request.token_out, amount)

    (quote,) = await engine.state(chain).quote_many([request])

    if isinstance(quote, NoRoute):
        assert not oracle.best(a, b, amount, "latest", v2_then_v3=True), quote
        return
    assert quote.amount_out_raw == oracle.best(a, b, amount, quote.block_number, v2_then_v3=True)


async def test_v2_then_v3_wins_where_it_pays_best(engine, devchain, oracle):
    """A route the on-chain quoter cannot ask in one call: found, and exact."""
    chain = engine.chains.get("devchain")
    requests = []
    for a, b in PAIRS:
        _, request = await engine.request("devchain", a, b, "1")
        for digits in range(devchain.decimals[a] - 2, devchain.decimals[a] + 6):
            requests.append((a, b, type(request)(request.token_in, request.token_out, 10**digits)))

    quotes = await engine.state(chain).quote_many([r for _, _, r in requests])

    found = [
        (a, b, request.amount_in, quote)
        for (a, b, request), quote in zip(requests, quotes, strict=True)
        if not isinstance(quote, NoRoute)
        and [h.kind for h in quote.route] == ["uniswap_v2", "uniswap_v3"]
    ]
    assert found  # the devchain's pools make V2-then-V3 the best route somewhere
    for a, b, amount, quote in found:
        assert quote.amount_out_raw == oracle.best(
            a, b, amount, quote.block_number, v2_then_v3=True
        )
