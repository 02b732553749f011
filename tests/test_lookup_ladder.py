"""Every rung of the lookup ladder, through the HTTP API."""

from __future__ import annotations

import math
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PRICE = "/price/devchain/WETH/USDC"


async def test_a_first_request_is_a_miss_then_a_hit(service):
    async with service() as client:
        first = (await client.get(PRICE, params={"amount": "1.5"})).json()
        second = (await client.get(PRICE, params={"amount": "1.5"})).json()
    assert (first["cache"], first["stale"]) == ("miss", False)
    assert (second["cache"], second["stale"]) == ("hit", False)
    assert second["amountOutRaw"] == first["amountOutRaw"]
    assert second["tier"] == 4


async def test_a_stale_answer_comes_from_state_at_once_and_freshens_with_the_follower(service):
    async with service() as client:
        await client.get(PRICE)
        ttl = client.app.state.feed.tier(_pair(client)).ttl
        client.clock.advance(ttl + 1)  # the state was last seen at the head ttl + 1 s ago
        upstream_before = client.app.state.feed.fetcher.upstream_quotes

        async with held_still(client):
            stale = await client.get(PRICE)
        assert stale.json()["cache"] == "stale"
        assert stale.json()["stale"] is True
        # no refresh job of its own: the follower moves the state, for every amount at once
        assert client.app.state.feed.fetcher.upstream_quotes == upstream_before
        assert not client.app.state.feed.refreshes.background
        await client.app.state.engine.followers()["devchain"].step()

        assert (await client.get(PRICE)).json()["cache"] == "hit"


async def test_a_quote_past_its_stale_limit_is_fetched_again(service):
    async with service() as client:
        first = (await client.get(PRICE)).json()
        limit = client.app.state.feed.tier(_pair(client)).stale_limit
        client.clock.advance(limit + 1)
        answer = (await client.get(PRICE)).json()
    assert answer["cache"] == "miss"
    assert seconds_between(first, answer) >= limit + 1  # fetched after the clock moved on


async def test_when_the_chain_fails_the_last_known_value_is_served_stale(service, proxy):
    upstream = proxy()
    async with service([upstream.url], retries=1, deadline=2) as client:
        known = (await client.get(PRICE)).json()
        client.clock.advance(client.app.state.feed.tier(_pair(client)).stale_limit + 1)
        upstream.faults.status = 500

        answer = await client.get(PRICE)

    assert answer.status_code == 200
    assert answer.json()["stale"] is True
    assert answer.json()["amountOutRaw"] == known["amountOutRaw"]


async def test_when_nothing_is_known_and_the_chain_fails_the_answer_is_503(service, proxy):
    upstream = proxy()
    upstream.faults.status = 500
    async with service([upstream.url], retries=1, deadline=2) as client:
        answer = await client.get(PRICE)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "upstream_unavailable"


async def test_max_age_waits_for_a_fresher_quote(service):
    async with service() as client:
        await client.get(PRICE)
        client.clock.advance(3)
        relaxed = (await client.get(PRICE, params={"max_age": "10"})).json()
        strict = (await client.get(PRICE, params={"max_age": "1"})).json()
    assert relaxed["cache"] == "hit" and relaxed["ageMs"] >= 3000
    assert strict["cache"] == "miss" and seconds_between(relaxed, strict) >= 3  # caught up


async def test_cache_headers_match_the_entry(service):
    async with service() as client:
        await client.get(PRICE)
        client.clock.advance(4)
        async with held_still(client):
            answer = await client.get(PRICE)
    tier = client.app.state.feed.tier(_pair(client))
    age = answer.json()["ageMs"] / 1000
    assert int(answer.headers["Age"]) == math.floor(age) >= 4  # the clock moved 4 s
    assert answer.headers["Cache-Control"] == (
        f"public, max-age={math.floor(tier.ttl - age)}, "
        f"stale-while-revalidate={int(tier.stale_limit - tier.ttl)}"
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.floats(min_value=0, max_value=3500, allow_nan=False))  # within the stale limit
async def test_stale_is_true_exactly_when_age_exceeds_the_ttl(service, offset):
    async with service() as client:
        await client.get(PRICE)
        client.clock.advance(offset)
        async with held_still(client):
            answer = (await client.get(PRICE)).json()
        ttl = client.app.state.feed.tier(_pair(client)).ttl
    assert answer["stale"] is (answer["ageMs"] / 1000 > ttl)
    assert answer["cache"] == ("stale" if answer["stale"] else "hit")


def seconds_between(earlier: dict, later: dict) -> float:
    """How much later the second answer's quote was fetched (fetchedAt, ISO 8601)."""
    at = [datetime.fromisoformat(a["fetchedAt"]) for a in (earlier, later)]
    return (at[1] - at[0]).total_seconds()


def held_still(client):
    """The follower's lock: while the test holds it, the state stays at the block it is at."""
    engine = client.app.state.engine
    return engine.state(engine.chains.get("devchain")).states.lock


def _pair(client):
    chain = client.app.state.engine.chains.get("devchain")
    return ("devchain", chain.token("WETH").address, chain.token("USDC").address)
