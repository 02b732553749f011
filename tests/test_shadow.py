"""The shadow check asks the chain again for a sample of served quotes, at their block: ours
agree, a wrong one is caught with its route, and the sample keeps to its rate."""

from __future__ import annotations

import asyncio

import msgspec
from oracle import PAIRS

from pricefeed.chain.shadow import Shadow


async def quotes_of(engine, pairs, amount="3.7"):
    chain = engine.chains.get("devchain")
    requests = [(await engine.request("devchain", a, b, amount))[1] for a, b in pairs]
    return engine.state(chain), await engine.state(chain).quote_many(requests)


async def test_every_pair_agrees_with_the_chain_at_its_block(engine):
    state, quotes = await quotes_of(engine, PAIRS)
    shadow = Shadow(state.quoter, state.states.pools, rate=1.0, per_second=1e9)

    results = [await shadow.check(q) for q in quotes if not isinstance(q, Exception)]

    assert len(results) >= 20 and all(results)
    assert (shadow.checked, shadow.mismatches) == (len(results), 0)
    assert any(len(q.route) == 2 and q.route[0].kind != q.route[1].kind for q in quotes)


async def test_a_wrong_amount_is_counted_with_its_route(engine):
    state, (quote,) = await quotes_of(engine, [("USDC", "WBTC")])
    shadow = Shadow(state.quoter, state.states.pools, rate=1.0, per_second=1e9)
    wrong = msgspec.structs.replace(quote, amount_out_raw=quote.amount_out_raw + 1)

    assert await shadow.check(wrong) is False

    assert shadow.mismatches == 1
    assert shadow.last_mismatch["ours"] == str(quote.amount_out_raw + 1)
    assert shadow.last_mismatch["onchain"] == str(quote.amount_out_raw)
    assert shadow.last_mismatch["route"] == [h.pool for h in quote.route]


async def test_the_sample_keeps_to_its_rate_and_its_cap(engine):
    state, quotes = await quotes_of(engine, PAIRS[:10])
    answers = [(None, q) for q in quotes]
    none = Shadow(state.quoter, state.states.pools, rate=0.0, per_second=100)
    capped = Shadow(state.quoter, state.states.pools, rate=1.0, per_second=1)

    none.consider(answers)
    capped.consider(answers)
    capped.consider(answers)
    await none.settle()
    await capped.settle()

    assert none.checked == 0
    # one a second, however many were served: the cap is the behaviour, and the two calls
    # above are back to back, far inside its second
    assert capped.checked == 1


async def test_health_and_metrics_show_the_shadow_figures(service):
    async with service(sections={"state": {"shadow_rate": 1.0, "shadow_per_second": 1000}}) as c:
        for amount in ("1", "2", "3"):
            assert (
                await c.get("/price/devchain/WETH/USDC", params={"amount": amount})
            ).status_code == 200
        for _ in range(600):  # the check runs in the background: until it has run once
            figures = (await c.get("/metrics")).json()["state"]["devchain"]
            if figures["shadow"]["checked"] >= 1:
                break
            await asyncio.sleep(0.05)
        health = (await c.get("/health")).json()

    assert figures["shadow"]["checked"] >= 1 and figures["shadow"]["mismatches"] == 0
    assert health["chains"]["devchain"]["state"]["shadowMismatches"] == 0
