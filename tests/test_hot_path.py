"""An answer from memory costs no I/O: no database read or write, no RPC, per request, for any
amount of a pair whose pools are held."""

from __future__ import annotations

import asyncio
import random

from conftest import on_app
from sqlalchemy import event

PRICE = "/price/devchain/WETH/USDC"
# batched, not per request: the flush, re-ranking and pruning jobs (due every second or ten by
# default) would read and write the store during a slow run's requests
PERIODIC_ONLY = {"flush_interval": 3600.0, "retier_interval": 3600.0}
SLOW_BLOCKS = {"block_time": 3600.0}  # the follower steps once at start, then not for an hour


def record_statements(store) -> list[str]:
    """The statements run from now on, but the chart samples': the sampler writes every 10 s
    whatever is asked, so a slow run would count a sample where no request made one (its
    hourly pruning comes with the first sample: `sampled_once` waits for that)."""
    statements: list[str] = []

    def record(conn, cursor, statement: str, *rest) -> None:
        if "metric_samples" not in statement:
            statements.append(statement)

    for engine in (store._reader, store._writer):
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    return statements


async def followed_once(client) -> None:
    """Until the follower has made its first step and persisted it: the store holds its head."""
    store = client.app.state.store
    for _ in range(600):
        follower = client.app.state.engine.followers().get("devchain")
        if follower is not None and follower.steps and not follower.last_error:
            saved = await on_app(client, store.pool_states)
            if "devchain" in saved and saved["devchain"][0] == follower.state.head:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the follower never stepped and saved its state")


async def sampled_once(client) -> None:
    """Until the first chart sample is written, and with it the hourly pruning of samples."""
    background = client.app.state.services.background
    for _ in range(600):
        if background.ran["sample"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no chart sample was taken")


def random_amount(rng: random.Random) -> str:
    """Up to 6 decimals, from 0.000001 to 100 (the depth the pool's state was read for at
    load; a swap reaching further loads the tick words it needs once: a miss, then hits)."""
    micros = rng.randrange(1, 10**8)
    return f"{micros // 10**6}.{micros % 10**6:06d}"


async def test_hits_and_stale_answers_for_any_amount_touch_neither_the_database_nor_the_chain(
    service, proxy
):
    recorder = proxy()
    no_shadow = {"state": {"shadow_rate": 0.0}}  # a shadow check is an RPC request by design
    async with service(
        [recorder.url], cache=PERIODIC_ONLY, chain=SLOW_BLOCKS, sections=no_shadow
    ) as client:
        await client.get(PRICE)  # the pair's pools are loaded: a miss
        await followed_once(client)
        await sampled_once(client)
        statements = record_statements(client.app.state.store)
        recorder.reset_counts()
        rng = random.Random(5)

        hits = [
            (await client.get(PRICE, params={"amount": random_amount(rng)})).json()
            for _ in range(200)
        ]
        client.clock.advance(client.app.state.feed.tier(pair(client)).ttl + 1)
        stale = [
            (await client.get(PRICE, params={"amount": random_amount(rng)})).json()
            for _ in range(50)
        ]

        assert {a["cache"] for a in hits} == {"hit"}
        assert len({a["amountInRaw"] for a in hits}) > 190  # distinct amounts, each computed
        assert {(a["cache"], a["stale"]) for a in stale} == {("stale", True)}
        assert statements == [], statements
        assert recorder.http_requests == 0
        assert client.app.state.feed.demand.pairs  # counted in memory, written in batches later


def pair(client) -> tuple[str, str, str]:
    chain = client.app.state.engine.chains.get("devchain")
    return ("devchain", chain.token("WETH").address, chain.token("USDC").address)


async def test_a_swap_reaching_unread_ticks_loads_them_once_then_is_a_hit(service):
    async with service() as client:
        await client.get(PRICE)
        state = client.app.state.engine.held("devchain")
        loads = state.states.word_loads
        far = [(await client.get(PRICE, params={"amount": "2500"})).json() for _ in range(3)]
    assert [a["cache"] for a in far] == ["miss", "hit", "hit"]
    assert state.states.word_loads > loads
    assert len({a["amountOutRaw"] for a in far}) == 1


async def test_a_pair_known_to_have_no_pool_is_answered_from_memory_and_never_charged(
    service, proxy
):
    recorder = proxy()
    stingy = {"client_rpc_share": 0.001}  # 1 chain read a minute for this client
    no_shadow = {"state": {"shadow_rate": 0.0}}
    async with service(
        [recorder.url], server=stingy, cache=PERIODIC_ONLY, chain=SLOW_BLOCKS, sections=no_shadow
    ) as client:
        first = await client.get("/price/devchain/NOPE/USDC")  # looked up: no pool anywhere
        await followed_once(client)
        await sampled_once(client)
        statements = record_statements(client.app.state.store)
        recorder.reset_counts()
        again = [await client.get("/price/devchain/NOPE/USDC") for _ in range(20)]

    assert first.status_code == 404
    assert {a.status_code for a in again} == {404}  # not 429: it costs the chain nothing
    assert {a.json()["error"]["code"] for a in again} == {"no_route"}
    assert recorder.http_requests == 0
    assert statements == []
