"""Quotes share multicalls: 50 quotes cost one eth_call, counted at the wire."""

from __future__ import annotations

from itertools import cycle, islice

from pricefeed.model import Quote

PAIRS = [("WETH", "USDC"), ("USDC", "WETH"), ("WBTC", "DAI"), ("LINK", "USDC"), ("USDC", "UNI")]
AMOUNTS = ["1", "2.5", "10", "0.75", "40", "3", "0.125"]  # co-prime with PAIRS: 35 distinct


async def quote_requests(engine, n: int):
    pairs = islice(cycle(PAIRS), n)
    amounts = cycle(AMOUNTS)
    return [(await engine.request("devchain", a, b, next(amounts)))[1] for a, b in pairs]


async def test_fifty_quotes_cost_exactly_one_eth_call(engine_via, proxy):
    recorder = proxy()
    engine = engine_via([recorder.url])
    quoter = engine.quoter(engine.chains.get("devchain"))
    requests = await quote_requests(engine, 50)
    await quoter.quote_many(requests[:5])  # learns which pools exist
    recorder.reset_counts()

    quotes = await quoter.quote_many(requests)

    assert all(isinstance(q, Quote) for q in quotes)
    assert recorder.methods["eth_call"] == 1
    assert len({q.block_number for q in quotes}) == 1


async def test_the_fifty_first_quote_starts_a_second_call(engine_via, proxy):
    recorder = proxy()
    engine = engine_via([recorder.url])
    quoter = engine.quoter(engine.chains.get("devchain"))
    requests = await quote_requests(engine, 51)
    await quoter.quote_many(requests[:5])
    recorder.reset_counts()

    await quoter.quote_many(requests)

    assert recorder.methods["eth_call"] == 2


async def test_pool_lookups_are_remembered(engine_via, proxy):
    recorder = proxy()
    engine = engine_via([recorder.url])
    requests = await quote_requests(engine, 5)
    quoter = engine.quoter(engine.chains.get("devchain"))

    await quoter.quote_many(requests)
    first = recorder.methods["eth_call"]
    await quoter.quote_many(requests)

    assert first == 2  # pool look-ups, then the quotes
    assert recorder.methods["eth_call"] == 3
