"""Pairs move between tiers by popularity, with hysteresis; admins pin; rising demand pre-warms."""

from __future__ import annotations

import msgspec
from conftest import ADMIN_TOKEN, on_app, settle

from pricefeed.serving.tiers import DEFAULT_TIERS, assign, validate

SMALL = {
    t.tier: msgspec.structs.replace(t, size=s)
    for t, s in zip(DEFAULT_TIERS, [2, 3, 5, None], strict=True)
}


def test_a_pair_moves_up_as_soon_as_it_ranks_inside_a_better_tier():
    ranked = [(10, 4), (11, 4), (12, 4), (13, 4), (14, 4), (15, 4)]
    assert assign(ranked, SMALL, 1.2) == {10: 1, 11: 1, 12: 2, 13: 2, 14: 2, 15: 3}


def test_a_pair_leaves_its_tier_only_past_the_hysteresis_margin():
    # tier 1 holds ranks 0-1; with hysteresis 2.0 its pairs stay until rank 4
    ranked = [(i, 1) for i in range(6)]
    moves = assign(ranked, SMALL, 2.0)
    assert 2 not in moves and 3 not in moves  # ranks 2 and 3 would be tier 2, but stay
    assert moves == {4: 2, 5: 3}


def test_pairs_swapping_places_at_a_boundary_do_not_flap():
    tiers = SMALL
    current = {"a": 1, "b": 1, "c": 2}
    for order in (["a", "c", "b"], ["a", "b", "c"], ["a", "c", "b"]):  # b and c trade rank 1/2
        ids = {name: i for i, name in enumerate("abc")}
        moves = assign([(ids[n], current[n]) for n in order], tiers, 1.2)
        for name, i in ids.items():
            current[name] = moves.get(i, current[name])
    assert current == {"a": 1, "b": 1, "c": 1}  # c rose once; nobody fell back


def test_tier_forms_are_validated_field_by_field():
    assert validate(1, "5", "10", "60", "50")[0] is not None
    assert validate(4, "", "600", "3600", "")[0] is not None  # tier 4: on demand, unlimited
    _, errors = validate(2, "abc", "0", "5", "1.5")
    assert errors == {
        "refresh": "must be a number",
        "ttl": "must be greater than zero",
        "size": "must be a whole number",
    }
    assert validate(1, "5", "10", "8", "50")[1] == {"stale_limit": "must be at least the TTL"}
    assert "refresh" in validate(1, "20", "10", "60", "50")[1]
    assert validate(2, "", "10", "60", "50")[1] == {"refresh": "required"}


async def one_pair_per_tier(client) -> None:
    """Tiers 1-3 hold a single pair each, so a handful of pairs spans every tier."""
    for tier in SMALL.values():
        await on_app(
            client,
            client.app.state.feed.ranking.save_tier,
            msgspec.structs.replace(tier, size=tier.size and 1),
        )


async def test_re_ranking_promotes_the_popular_and_demotes_the_faded(service):
    async with service() as client:
        feed = client.app.state.feed
        await one_pair_per_tier(client)
        for pair, times in [("WETH/USDC", 6), ("WBTC/USDC", 3), ("DAI/USDC", 1), ("LINK/USDC", 1)]:
            for _ in range(times):
                await client.get(f"/price/devchain/{pair}")
        await on_app(client, retier, feed)
        first = {
            p: (await client.get(f"/price/devchain/{p}")).json()["tier"]
            for p in ("WETH/USDC", "WBTC/USDC")
        }

        for _ in range(20):  # UNI/WETH overtakes both
            await client.get("/price/devchain/UNI/WETH")
        await on_app(client, retier, feed)
        second = {
            p: (await client.get(f"/price/devchain/{p}")).json()["tier"]
            for p in ("UNI/WETH", "WETH/USDC", "WBTC/USDC")
        }

    assert first == {"WETH/USDC": 1, "WBTC/USDC": 2}
    # each fell one rank, but stays within 1.2 x the bottom of its tier (1.2, 2.4): no move
    assert second == {"UNI/WETH": 1, "WETH/USDC": 1, "WBTC/USDC": 2}


async def test_a_pinned_pair_keeps_its_tier_through_re_ranking(service):
    async with service() as client:
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        pinned = await client.post(
            "/admin/pins",
            json={"chain": "devchain", "tokenIn": "LINK", "tokenOut": "USDC", "tier": 1},
            headers=auth,
        )
        for _ in range(5):
            await client.get("/price/devchain/WETH/USDC")
        await on_app(client, retier, client.app.state.feed)
        link = (await client.get("/price/devchain/LINK/USDC")).json()
        await client.delete("/admin/pins/devchain/LINK/USDC", headers=auth)
        pairs = (await client.get("/admin/pairs", params={"q": "link"}, headers=auth)).json()
    assert pinned.status_code == 200
    assert link["tier"] == 1
    assert pairs["pairs"][0]["pinned"] is False


async def test_rising_demand_is_promoted_early_and_its_pools_loaded_before_it_is_asked(service):
    async with service() as client:
        feed = client.app.state.feed
        await one_pair_per_tier(client)
        for _ in range(20):  # steady demand, long ago: popularity halves to about 10
            await client.get("/price/devchain/DAI/USDC")
        client.clock.advance(600)
        for _ in range(8):  # a burst: popularity 8, but rising, so ranked as 16
            await client.get("/price/devchain/WBTC/WETH")
        await on_app(client, retier, feed)
        tiers = {
            p: (await client.get(f"/price/devchain/{p}")).json()["tier"]
            for p in ("WBTC/WETH", "DAI/USDC")
        }

        client.app.state.engine.held("devchain").states.evict(0)  # every pool let go
        before = feed.fetcher.upstream_quotes
        await on_app(client, retier, feed)
        await on_app(client, feed.refreshes.prewarm)
        await settle(client)
        prewarmed = feed.fetcher.upstream_quotes - before
        answer = (await client.get("/price/devchain/WBTC/WETH")).json()

    assert tiers == {"WBTC/WETH": 1, "DAI/USDC": 2}
    assert prewarmed == 1  # the rising pair only
    assert answer["cache"] == "hit"  # its pools were loaded before it was asked again


def _key(client, a, b):
    chain = client.app.state.engine.chains.get("devchain")
    return ("devchain", chain.token(a).address, chain.token(b).address)


async def test_the_top_tiers_pools_stay_held_while_the_last_tiers_are_let_go(service):
    async with service(sections={"state": {"max_pools": 6}}) as client:
        feed, engine = client.app.state.feed, client.app.state.engine
        await on_app(client, feed.ranking.pin, "devchain", "WETH", "USDC", 1)
        await client.get("/price/devchain/WETH/USDC")
        await on_app(client, retier, feed)
        for pair in ("WBTC/DAI", "LINK/USDC", "UNI/WETH", "DAI/USDC", "WBTC/USDC"):
            assert (await client.get(f"/price/devchain/{pair}")).status_code == 200
        state = engine.held("devchain")
        held, kept, evictions = set(state.states.pools), state.kept, state.states.evictions
        answer = (await client.get("/price/devchain/WETH/USDC", params={"amount": "7"})).json()

    assert kept and kept <= held  # every pool of the tier-1 pair, beyond max_pools
    assert evictions > 0  # while the others were let go
    assert answer["cache"] == "hit"


async def retier(feed) -> dict[int, int]:
    """What the background job does: the requests so far reach the store, then the ranking."""
    await feed.flush()
    return await feed.ranking.retier()
