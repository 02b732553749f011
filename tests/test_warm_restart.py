"""What the feed learned survives a restart: quotes are served at once from SQLite."""

from __future__ import annotations

PRICE = "/price/devchain/WBTC/USDC"


async def test_a_restarted_feed_serves_persisted_quotes_without_asking_the_chain(service, tmp_path):
    async with service(data=tmp_path) as first:
        before = (await first.get(PRICE, params={"amount": "0.5"})).json()
        await first.get(PRICE, params={"amount": "0.5"})

    async with service(data=tmp_path) as second:
        feed = second.app.state.feed
        assert len(feed.memo.l1) >= 1  # loaded at start, before any request
        after = (await second.get(PRICE, params={"amount": "0.5"})).json()
        assert feed.fetcher.upstream_quotes == 0

    assert after["cache"] == "hit"
    assert after["amountOutRaw"] == before["amountOutRaw"]
    assert after["blockNumber"] == before["blockNumber"]


async def test_a_restarted_feed_flags_old_quotes_as_stale(service, tmp_path):
    async with service(data=tmp_path) as first:
        await first.get(PRICE)

    async with service(data=tmp_path) as second:
        second.clock.advance(second.app.state.feed.tier(_pair(second)).ttl + 5)
        after = (await second.get(PRICE)).json()

    assert (after["cache"], after["stale"]) == ("stale", True)


async def test_popularity_survives_a_restart(service, tmp_path):
    async with service(data=tmp_path) as first:
        for _ in range(5):
            await first.get(PRICE)

    async with service(data=tmp_path) as second:
        assert second.app.state.feed.demand.score(_pair(second), second.clock()) > 4.9


def _pair(client):
    chain = client.app.state.engine.chains.get("devchain")
    return ("devchain", chain.token("WBTC").address, chain.token("USDC").address)
