"""The admin API: Bearer-protected (the variable, else the kept token), changes persisted."""

from __future__ import annotations

from conftest import ADMIN_TOKEN, on_app

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_without_the_variable_the_token_kept_in_the_data_directory_works(service, tmp_path):
    async with service(data=tmp_path, admin_token="") as client:
        kept = (tmp_path / "admin-token").read_text().strip()
        refused = await client.get("/admin/tiers")
        allowed = await client.get("/admin/tiers", headers={"Authorization": f"Bearer {kept}"})
    assert refused.status_code == 401
    assert allowed.status_code == 200


async def test_a_wrong_or_missing_bearer_token_is_refused(service):
    async with service() as client:
        missing = await client.get("/admin/tiers")
        wrong = await client.get("/admin/tiers", headers={"Authorization": "Bearer guess"})
        right = await client.get("/admin/tiers", headers=AUTH)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert [t["tier"] for t in right.json()] == [1, 2, 3, 4]


async def test_tier_settings_change_at_once_and_survive_a_restart(service, tmp_path):
    form = {"refresh": 3, "ttl": 8, "staleLimit": 40, "size": 25}
    async with service(data=tmp_path) as client:
        changed = await client.put("/admin/tiers/1", json=form, headers=AUTH)
        assert client.app.state.feed.ranking.tiers[1].ttl == 8
    async with service(data=tmp_path) as client:
        tiers = (await client.get("/admin/tiers", headers=AUTH)).json()
    assert changed.status_code == 200
    assert tiers[0] == {"tier": 1, "refresh": 3.0, "ttl": 8.0, "staleLimit": 40.0, "size": 25}


async def test_an_invalid_tier_change_is_refused_and_changes_nothing(service):
    async with service() as client:
        answer = await client.put(
            "/admin/tiers/2",
            json={"ttl": 60, "staleLimit": 5, "refresh": 30, "size": 500},
            headers=AUTH,
        )
        tier2 = (await client.get("/admin/tiers", headers=AUTH)).json()[1]
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_tier"
    assert "stale_limit: must be at least the TTL" in answer.json()["error"]["message"]
    assert tier2["ttl"] == 60.0


async def test_pairs_are_listed_with_tier_popularity_and_last_quote(service):
    async with service() as client:
        for _ in range(3):
            await client.get("/price/devchain/WETH/USDC", params={"amount": "2"})
        await client.get("/price/devchain/LINK/USDC")
        listing = (await client.get("/admin/pairs", headers=AUTH)).json()
        searched = (await client.get("/admin/pairs", params={"q": "link"}, headers=AUTH)).json()
        bad_sort = await client.get("/admin/pairs", params={"sort": "colour"}, headers=AUTH)
    top = listing["pairs"][0]
    assert listing["total"] == 2
    assert (top["pair"], top["hits"], top["misses"], top["lastAmount"]) == (
        "WETH/USDC",
        2,
        1,
        "2 WETH",
    )
    # three requests, halving every 10 minutes (half_life): the test takes seconds, not minutes
    assert 2 < top["popularity"] <= 3 and top["lastPrice"] and top["ageMs"] >= 0
    assert [p["pair"] for p in searched["pairs"]] == ["LINK/USDC"]
    assert bad_sort.status_code == 400


async def test_listing_pairs_writes_nothing(service):
    """A GET reads: the counts not flushed yet are added in memory, not written to show them."""
    async with service(cache={"flush_interval": 3600.0}) as client:
        for _ in range(3):
            await client.get("/price/devchain/WETH/USDC")
        listing = (await client.get("/admin/pairs", headers=AUTH)).json()
        stored = await on_app(client, client.app.state.store.pairs)
    assert [(p["pair"], p["hits"] + p["misses"]) for p in listing["pairs"]] == [("WETH/USDC", 3)]
    # the row the quote made has no counts yet: they wait in memory for the next flush
    assert [(r["hits"], r["stale"], r["misses"]) for r in stored] == [(0, 0, 0)]


async def test_a_followed_pair_is_listed_as_its_state_is_now(service):
    """Its pools are followed every block: its listed price and age are the held state's, not
    those of the quote last stored (which ages while nobody asks)."""
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        client.clock.advance(300)  # the stored quote is 5 minutes old...
        await on_app(client, client.app.state.engine.followers()["devchain"].step)  # ...the state
        listing = (await client.get("/admin/pairs", headers=AUTH)).json()
    (pair,) = listing["pairs"]
    assert pair["ageMs"] < 300_000
    assert pair["lastPrice"]
