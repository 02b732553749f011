"""Far swaps asked together read the tick words they reach together: a cold batch waits for
one run of word reads, not one per request, one after the other."""

from __future__ import annotations

# each reaches tick words that a small swap's load does not read (see the devchain's pools)
FAR = [("WETH", "USDC", "1000"), ("LINK", "WETH", "100000"), ("WETH", "WBTC", "100")]


async def test_far_swaps_in_one_batch_read_their_words_side_by_side(engine_via, proxy, oracle):
    slow = proxy()
    engine = engine_via([slow.url])
    for a, b, _ in FAR:  # the pools held, with the words near their prices
        await engine.quote("devchain", a, b, "0.001", from_state=True)
    state = engine.held("devchain")
    requests = [(await engine.request("devchain", a, b, amount))[1] for a, b, amount in FAR]
    assert [state.quote_held(r) for r in requests] == [None] * len(FAR)  # words to read
    slow.faults.delay = (0.5, 0.5)  # reads side by side overlap, however busy the machine is
    slow.reset_counts()

    quotes = await state.quote_many(requests)

    loads = state.states.word_loads
    assert loads >= len(FAR)
    # one request after another, every word read would be a round trip of its own
    assert slow.round_trips() < loads
    for quote in quotes:
        raw = int(quote.amount_in_raw)
        best = oracle.best(quote.token_in.symbol, quote.token_out.symbol, raw, quote.block_number)
        assert quote.amount_out_raw == best
