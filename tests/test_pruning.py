"""The store forgets what nobody asks for: old quotes, old price history, pairs long unasked;
pins and what was asked for lately stay. Only a pair's latest amounts are kept refreshed."""

from __future__ import annotations

from conftest import on_app

from pricefeed.serving.tiers import DEFAULT_TIERS

DAY = 86_400.0
RETENTION = {"quote_retention": DAY, "history_retention": 2 * DAY, "pair_retention": 3 * DAY}


async def stored(client) -> dict:
    store = client.app.state.store
    pairs = {(p["symbol_in"], p["symbol_out"]): p for p in await store.pairs()}
    latest = await store.latest_quotes()
    history = {
        names: await store.prices((p["chain"], p["token_in"], p["token_out"]), 0)
        for names, p in pairs.items()
    }
    return {
        "pairs": set(pairs),
        "quotes": {names for names, p in pairs.items() if p["id"] in latest},
        "history": {names for names, rows in history.items() if rows},
    }


async def test_pruning_forgets_what_nobody_asks_for_and_keeps_the_rest(service):
    async with service(cache=RETENTION) as client:
        feed = client.app.state.feed
        await client.get("/price/devchain/WETH/USDC")  # asked once, long ago
        await client.get("/price/devchain/WBTC/USDC")
        await feed.ranking.pin("devchain", "WBTC", "USDC", 1)  # ...but pinned
        await on_app(client, feed.flush)
        client.clock.advance(1.5 * DAY)
        await client.get("/price/devchain/USDC/WETH")  # asked lately
        await on_app(client, feed.flush)
        after_a_day_and_a_half = await on_app(client, feed.memo.prune)
        client.clock.advance(2 * DAY)
        await client.get("/price/devchain/USDC/WETH")
        await on_app(client, feed.flush)
        later = await on_app(client, feed.memo.prune)
        kept = await stored(client)

    assert after_a_day_and_a_half == {"quotes": 2, "history": 0, "pairs": 0}
    assert later["history"] == 3 and later["pairs"] == 1  # three rows over two days old
    assert kept["pairs"] == {("WBTC", "USDC"), ("USDC", "WETH")}  # the pin stays, quoteless
    assert kept["quotes"] == {("USDC", "WETH")}
    assert kept["history"] == {("USDC", "WETH")}


async def test_beyond_the_count_cap_the_least_recently_asked_quotes_go(service):
    async with service(cache={"max_stored_quotes": 3}) as client:
        feed = client.app.state.feed
        for amount in ("1", "2", "3", "4", "5"):
            await client.get(f"/price/devchain/WETH/USDC?amount={amount}")
            client.clock.advance(10)
            await on_app(client, feed.flush)
        deleted = await on_app(client, feed.memo.prune)
        left = await on_app(client, client.app.state.store.recent_quotes, 10)

    assert deleted["quotes"] == 2
    assert sorted(q.quote.amount_in for q in left) == ["3", "4", "5"]


async def test_only_the_latest_amounts_of_a_pair_are_kept_refreshed(service):
    async with service(cache={"amounts_per_pair": 2}) as client:
        feed, store = client.app.state.feed, client.app.state.store
        await feed.ranking.pin("devchain", "WETH", "USDC", 1)
        for amount in ("1", "2", "3", "4"):
            await client.get(f"/price/devchain/WETH/USDC?amount={amount}")
            client.clock.advance(1)
            await on_app(client, feed.flush)
        client.clock.advance(DEFAULT_TIERS[0].refresh)
        due = await on_app(client, store.due, client.clock(), 3600, await store.tiers(), 2)

    assert sorted(key[3] for key, _ in due) == [3 * 10**18, 4 * 10**18]
