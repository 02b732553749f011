"""The service as operators run it: one process with the consumer inside, or web + worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request

import msgspec
import pytest
from test_cli import PRICEFEED, ROOT

from pricefeed.devchain.node import free_port
from pricefeed.store import Store


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def start(command: str, config, data, **env) -> tuple[subprocess.Popen, int]:
    port = free_port()
    environment = {
        **os.environ,
        "PRICEFEED_CONFIG": str(config),
        "PRICEFEED__DATABASE__URL": f'"sqlite+aiosqlite:///{data}/pricefeed.db"',
        "PRICEFEED__QUEUE__PATH": f'"{data}/queue.db"',
        **env,
    }
    args = [PRICEFEED, command] + (["--port", str(port)] if command == "run" else [])
    log = (data / f"{command}.log").open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    ), port


async def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if get(f"http://127.0.0.1:{port}/health/ready")["status"] == "ok":
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "service did not become ready"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_the_in_process_consumer_leaves_shutdown_to_the_server(config_file, tmp_path, signum):
    server, port = start("run", config_file, tmp_path)
    try:
        await wait_ready(port)
        assert get(f"http://127.0.0.1:{port}/price/devchain/WETH/USDC")["cache"] == "miss"
        server.send_signal(signum)
        code = server.wait(15)
    finally:
        server.kill()
    log = (tmp_path / "run.log").read_text()
    assert code in (0, -signum)  # uvicorn re-raises the signal once it has shut down cleanly
    assert "Huey consumer started with 10 thread" in log
    assert "All workers have stopped" in log
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


async def test_a_separate_worker_refreshes_what_the_web_process_serves(config_file, tmp_path):
    await _set_ttls(tmp_path, ttl=1.0)  # fresh for 1 s in every tier, so staleness comes quickly
    web, port = start("run", config_file, tmp_path, PRICEFEED__QUEUE__IN_PROCESS="false")
    worker, _ = start("worker", config_file, tmp_path)
    try:
        await wait_ready(port)
        url = f"http://127.0.0.1:{port}/price/devchain/WETH/USDC"
        first = get(url)
        await asyncio.sleep(1.2)
        stale = get(url)  # served stale; the web process queues the refresh, the worker runs it
        refreshed = await _until(
            lambda: get(url), lambda a: a["fetchedAt"] > first["fetchedAt"] and a["cache"] == "hit"
        )
        assert (first["cache"], stale["cache"]) == ("miss", "stale")
        assert refreshed["ageMs"] < 1000
    finally:
        for p in (web, worker):
            p.send_signal(signal.SIGTERM)
        assert web.wait(15) in (0, -signal.SIGTERM)
        assert worker.wait(15) in (0, -signal.SIGTERM)
    worker_log = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()]
    assert any(
        "Executing pricefeed.tasks.refresh" in e["msg"] or "refresh" in e["msg"] for e in worker_log
    )


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
