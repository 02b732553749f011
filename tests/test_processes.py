"""The service as operators run it: one process with the consumer inside, or web + worker."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import msgspec
import pytest
from conftest import ServiceProcess

from pricefeed.store import Store


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_in_process_consumer_leaves_shutdown_to_the_server(config_file, tmp_path, signum):
    server = ServiceProcess(config_file, tmp_path).start()
    assert server.get("/price/devchain/WETH/USDC")["cache"] == "miss"
    code = server.stop(signum)
    log = server.log()
    assert code in (0, -signum)  # uvicorn re-raises the signal once it has shut down cleanly
    assert "Huey consumer started with 10 thread" in log
    assert "All workers have stopped" in log
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


async def test_a_separate_worker_refreshes_what_the_web_process_serves(config_file, tmp_path):
    await _set_ttls(tmp_path, ttl=1.0)  # fresh for 1 s in every tier, so staleness comes quickly
    web = ServiceProcess(config_file, tmp_path, PRICEFEED__QUEUE__IN_PROCESS="false").start()
    worker = ServiceProcess(config_file, tmp_path, command="worker").start()
    try:
        url = "/price/devchain/WETH/USDC"
        first = web.get(url)
        await asyncio.sleep(1.2)
        stale = web.get(url)  # served stale; the web process queues the refresh, the worker runs it
        refreshed = await _until(
            lambda: web.get(url),
            lambda a: a["fetchedAt"] > first["fetchedAt"] and a["cache"] == "hit",
        )
        assert (first["cache"], stale["cache"]) == ("miss", "stale")
        assert refreshed["ageMs"] < 1000
    finally:
        assert web.stop() in (0, -signal.SIGTERM)
        assert worker.stop() in (0, -signal.SIGTERM)
    worker_log = [json.loads(line) for line in worker.log().splitlines()]
    assert any(e["msg"].startswith("Executing pricefeed.tasks.refresh") for e in worker_log)


async def _set_ttls(data, ttl: float) -> None:
    store = Store(f"sqlite+aiosqlite:///{data}/pricefeed.db")
    await store.open()
    for tier in (await store.tiers()).values():
        await store.save_tier(msgspec.structs.replace(tier, ttl=ttl))
    await store.close()


async def _until(fetch, done, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"never happened; last answer: {answer}"
        await asyncio.sleep(0.2)
