"""The refresh queue under test: a real Huey consumer on a real SQLite queue file."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import msgspec
from conftest import Clock, via

from pricefeed.config import DatabaseSettings, QueueSettings
from pricefeed.jobs.queue import run_on_loop
from pricefeed.jobs.scheduler import Scheduler
from pricefeed.model import QuoteKey
from pricefeed.serving.tiers import PRIORITY_ON_DEMAND, PRIORITY_PREWARM, priority
from pricefeed.wiring import build

PAIRS = [("WETH", "USDC"), ("WBTC", "USDC"), ("DAI", "USDC"), ("LINK", "USDC")]


@asynccontextmanager
async def parts(settings, tmp_path, urls=None, workers=1, retries=0, retry_delay=0.2, rpc=None):
    """Store, feed and queue on this test's loop; the consumer is started by the test."""
    s = via(settings, urls, **(rpc or {})) if urls else settings
    s = msgspec.structs.replace(
        s,
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/pricefeed.db"),
        queue=QueueSettings(
            path=str(tmp_path / "queue.db"),
            workers=workers,
            retries=retries,
            retry_delay=retry_delay,
        ),
    )
    parts = build(s, clock=Clock())  # the state's age, moved by tests
    store, engine, queue, feed = parts.store, parts.engine, parts.queue, parts.feed
    await store.open()
    await feed.start()
    queue.bind(run_on_loop(asyncio.get_running_loop(), feed.refreshes.refresh))
    try:
        yield store, feed, queue
    finally:
        await asyncio.to_thread(queue.stop_consumer)
        await engine.close()
        await store.close()


async def cached_keys(feed, pairs=PAIRS):
    """Serve each pair once, so it has a stored quote to refresh; returns their keys."""
    keys = []
    for a, b in pairs:
        served = await feed.serve("devchain", a, b, "1")
        q = served.quote
        keys.append(QuoteKey(q.chain, q.token_in.address, q.token_out.address, q.amount_in_raw))
    await feed.flush()  # requested_at reaches the store
    return keys


async def wait_until(condition, timeout=60.0):  # a guard on a hang, not a bound on speed
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def fetched_at(store, key):
    return (await store.load_quote(key)).fetched_at


async def test_jobs_run_in_priority_order(settings, tmp_path):
    async with parts(settings, tmp_path, workers=1) as (_store, feed, queue):
        keys = await cached_keys(feed)
        for key, prio in zip(
            keys, [PRIORITY_PREWARM, priority(3), PRIORITY_ON_DEMAND, priority(1)], strict=True
        ):
            assert await queue.submit([key], prio, expires=60) == 1
        order: list = []
        queue.huey.signal("executing")(lambda _signal, task: order.append(tuple(task.args[0][0])))
        queue.start_consumer()
        await wait_until(lambda: queue.outcomes["completed"] == 4)
    assert order == [keys[2], keys[3], keys[1], keys[0]]  # on-demand, tier 1, tier 3, pre-warm


async def test_a_key_already_queued_is_not_queued_again(settings, tmp_path):
    async with parts(settings, tmp_path) as (_store, feed, queue):
        keys = await cached_keys(feed)
        assert await queue.submit(keys, priority(1), expires=60) == 4
        assert await queue.submit(keys[:2], PRIORITY_ON_DEMAND, expires=60) == 0
        assert queue.waiting() == 1  # one job of four keys


async def test_a_job_not_run_within_its_period_expires(settings, tmp_path):
    async with parts(settings, tmp_path) as (store, feed, queue):
        (key,) = await cached_keys(feed, PAIRS[:1])
        before = await fetched_at(store, key)
        await queue.submit([key], priority(1), expires=0.3)
        await asyncio.sleep(0.5)
        queue.start_consumer()
        await wait_until(lambda: queue.outcomes["expired"] == 1)
        assert queue.waiting() == 0
        assert await fetched_at(store, key) == before


async def test_a_failing_job_is_retried_with_growing_delays(settings, tmp_path, proxy):
    """Two retries, each scheduled for later (an eta), the delay doubling: 1.5 s, then 3 s.
    Counted from the tasks Huey runs, not timed."""
    upstream = proxy()
    fail_fast = {"retries": 1, "deadline": 1}
    async with parts(
        settings, tmp_path, urls=[upstream.url], retries=2, retry_delay=1.5, rpc=fail_fast
    ) as (_, feed, queue):
        (key,) = await cached_keys(feed, PAIRS[:1])
        feed.engine.clock.advance(120)  # the state is older than the job's period of 60 s...
        upstream.faults.status = 500  # ...so the refresh must reach the head: it fails, retried
        seen: list[tuple] = []  # per run: retries left, the delay the next retry waits, eta
        queue.huey.signal("executing")(
            lambda _, task, *__: seen.append((task.retries, task.retry_delay, task.eta))
        )
        await queue.submit([key], priority(1), expires=60)
        queue.start_consumer()
        await wait_until(lambda: queue.outcomes["failed"] == 3)
    assert [(retries, delay) for retries, delay, _ in seen] == [(2, 1.5), (1, 3.0), (0, 6.0)]
    first, *retries = [eta for *_, eta in seen]
    assert first is None and all(eta is not None for eta in retries)  # retries wait their delay


async def test_the_scheduler_heals_work_lost_with_a_killed_job(settings, tmp_path):
    async with parts(settings, tmp_path, workers=2) as (store, feed, queue):
        tier1 = (await store.tiers())[1]
        await store.save_tier(msgspec.structs.replace(tier1, refresh=1.0))
        (key,) = await cached_keys(feed, PAIRS[:1])
        await store.set_tiers({(await store.pairs())[0]["id"]: 1})
        scheduler = Scheduler(store, queue, recent=3600)

        await asyncio.sleep(1.1)  # due now
        claimed_at = time.time()
        assert await store.claim([key], claimed_at + 1.0, claimed_at) == [key]  # a job took it...
        # ...and died with it: nothing to queue while it holds (asked at the claim's moment, so a
        # busy box's pause before the tick cannot outlast the claim)
        assert await Scheduler(store, queue, recent=3600, clock=lambda: claimed_at).tick() == 0

        await asyncio.sleep(1.1)  # the claim runs out
        before = await fetched_at(store, key)
        queue.start_consumer()
        assert await scheduler.tick() == 1
        await wait_until(lambda: queue.outcomes["completed"] == 1)
        assert await fetched_at(store, key) > before
