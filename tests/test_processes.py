"""The service as operators run it: one process with the consumer inside, or web + worker."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import msgspec
import pytest
from conftest import ServiceProcess

from pricefeed.model import PairKey, QuoteKey
from pricefeed.store import Store


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_in_process_consumer_leaves_shutdown_to_the_server(config_file, tmp_path, signum):
    server = ServiceProcess(config_file, tmp_path).start()
    try:
        assert server.get("/price/devchain/WETH/USDC")["cache"] in ("hit", "miss")
    finally:
        code = server.stop(signum)
    log = server.log()
    assert code == 0
    assert "Huey consumer started with 10 thread" in log
    assert "All workers have stopped" in log
    assert "shutdown complete: jobs stopped, state saved, store closed" in log
    assert "Traceback" not in log


async def test_a_separate_worker_runs_the_tiers_refresh_jobs(config_file, tmp_path):
    web = ServiceProcess(config_file, tmp_path, PRICEFEED__QUEUE__IN_PROCESS="false").start()
    worker = ServiceProcess(config_file, tmp_path, command="worker").start()
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/pricefeed.db")
    await store.open()
    try:
        first = web.get("/price/devchain/WETH/USDC")  # from the web process's own state
        key = PairKey("devchain", first["tokenIn"]["address"], first["tokenOut"]["address"])
        quote_key = QuoteKey(*key, int(first["amountInRaw"]))
        stored = await _until(lambda: store.load_quote(quote_key), lambda q: q is not None)
        tier1 = (await store.tiers())[1]
        await store.save_tier(msgspec.structs.replace(tier1, refresh=1.0))
        await store.pin(key, ("WETH", "USDC"), 1)  # now due every second, in the worker

        refreshed = await _until(
            lambda: store.load_quote(quote_key), lambda q: q.fetched_at > stored.fetched_at
        )
        assert refreshed.quote.block_number >= stored.quote.block_number
    finally:
        await store.close()
        assert web.stop() in (0, -signal.SIGTERM)
        assert worker.stop() in (0, -signal.SIGTERM)
    worker_log = [json.loads(line) for line in worker.log().splitlines()]
    assert any(e["msg"].startswith("Executing pricefeed.jobs.queue.refresh") for e in worker_log)


async def _until(fetch, done, timeout: float = 120.0):
    """Until `done(fetch())`; the bound only stops a test that would hang: across two processes
    on a busy 2-core box, seconds stretch."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if asyncio.iscoroutine(answer):
            answer = await answer
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"never happened; last answer: {answer}"
        await asyncio.sleep(0.2)
