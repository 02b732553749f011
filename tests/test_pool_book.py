"""The pool book finds a pair's pools by its index, whichever way round the pair is asked,
and forgets the least recently used pairs beyond its size."""

from __future__ import annotations

from pricefeed.chain.pools import PoolBook


async def test_pools_are_found_by_pair_and_the_least_used_pairs_are_forgotten(engine, devchain):
    t = devchain.tokens
    quoter = engine.quoter(engine.chains.get("devchain"))
    book = PoolBook(list(quoter.venues.values()), size=3)
    pairs = [(t["WETH"], t["USDC"]), (t["WBTC"], t["USDC"]), (t["DAI"], t["USDC"])]

    await book.learn(pairs, quoter.call_latest)
    found = {pair: book.pools(*pair) for pair in pairs}
    await book.learn([(t["LINK"], t["USDC"])], quoter.call_latest)  # a fourth pair

    assert all(found.values())
    for (a, b), pools in found.items():
        assert {(p.token0, p.token1) for p in pools} == {
            tuple(sorted((a, b), key=lambda x: int(x, 16)))
        }
    assert book.pools(t["USDC"], t["DAI"]) == found[(t["DAI"], t["USDC"])]  # either way round
    assert len(book) == 3
    assert book.pools(t["WETH"], t["USDC"]) == []  # the least recently used went
    assert book.pools(t["LINK"], t["USDC"])


async def test_a_known_pair_needs_no_look_up_and_every_venue_names_its_look_ups(engine, devchain):
    t = devchain.tokens
    quoter = engine.quoter(engine.chains.get("devchain"))
    book = PoolBook(list(quoter.venues.values()))
    pair = (t["WETH"], t["USDC"])

    wanted = book.wanted([pair])
    await book.learn([pair], quoter.call_latest)

    assert {(x.venue, x.fee) for x in wanted} == {
        key for venue in quoter.venues.values() for key in venue.lookup_keys()
    }
    assert book.wanted([pair]) == [] and book.wanted([pair[::-1]]) == []
