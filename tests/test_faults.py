"""Faults, short form: endpoints down, 429 storms, lagging nodes, full or read-only disks.

`PRICEFEED_LONG_FAULTS=1` makes each scenario run longer and more often.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import pytest
from conftest import ADMIN_TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricefeed.chain.rpc import RpcPool
from pricefeed.config import RpcSettings
from pricefeed.devchain.node import rpc
from pricefeed.errors import UpstreamUnavailable

LONG = os.environ.get("PRICEFEED_LONG_FAULTS") == "1"
PAIRS = ["WETH/USDC", "WBTC/USDC", "DAI/USDC"]


async def test_while_the_endpoint_is_down_cached_pairs_answer_stale_and_new_ones_get_503(
    service, proxy
):
    upstream = proxy()
    async with service([upstream.url], retries=1, deadline=1, breaker_cooldown=0.5) as client:
        for pair in PAIRS:
            await client.get(f"/price/devchain/{pair}")
        upstream.faults.status = 503
        client.clock.advance(600)  # past every tier's TTL
        answers = []
        for step in range(30 if not LONG else 300):
            client.clock.advance(200)  # and soon past every stale limit too
            answers.append(await client.get(f"/price/devchain/{PAIRS[step % 3]}"))
        never_cached = await client.get("/price/devchain/LINK/USDC")

        upstream.faults.status = None
        await asyncio.sleep(0.6)  # the breaker's cool-down
        recovered = (await client.get("/price/devchain/WETH/USDC", params={"max_age": "0"})).json()

    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["stale"] for a in answers)
    assert never_cached.status_code == 503 and never_cached.headers["Retry-After"]
    # caught up, by the follower or by this request: within its TTL on the moved clock
    assert recovered["stale"] is False and recovered["cache"] in ("hit", "miss")


async def test_a_429_storm_opens_the_breaker_spaces_the_probes_and_recovers(proxy):
    storm = proxy()
    storm.faults.status = 429
    cooldown, seconds = 0.5, (2.0 if not LONG else 10.0)
    pool = RpcPool(
        "devchain",
        [storm.url],
        RpcSettings(breaker_failures=3, breaker_cooldown=cooldown, retries=1, deadline=2),
    )
    started = time.monotonic()
    for _ in range(int(seconds / 0.02)):  # a count of requests, at most one every 20 ms
        with pytest.raises(UpstreamUnavailable):
            await pool.request("eth_blockNumber", [])
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started  # the bound below, not an assertion on time
    sent_during_storm = storm.http_requests

    storm.faults.status = None
    await asyncio.sleep(cooldown + 0.1)
    await pool.request("eth_blockNumber", [])

    # three failures open it; after that one half-open probe per cool-down at most
    assert sent_during_storm <= 3 + elapsed / cooldown + 1
    assert pool.endpoints[0].state == "closed"
    await pool.close()


@settings(
    max_examples=6 if not LONG else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(st.sampled_from(["mine", "down", "up", "ask", "ask"]), min_size=6, max_size=16)
)
async def test_a_pair_is_never_served_an_older_block_than_before(service, proxy, anvil, steps):
    good, lagging = proxy(), proxy()
    lagging.faults.lag = 4
    for _ in range(6):
        rpc(anvil.url, "evm_mine")
    async with service(
        [good.url, lagging.url], retries=2, deadline=3, breaker_cooldown=0.2
    ) as client:
        served = [(await client.get("/price/devchain/WETH/USDC")).json()["blockNumber"]]
        for step in steps:
            if step == "mine":
                rpc(anvil.url, "evm_mine")
            elif step in ("down", "up"):
                good.faults.status = 500 if step == "down" else None
            else:
                answer = await client.get("/price/devchain/WETH/USDC", params={"max_age": "0"})
                assert answer.status_code == 200, answer.text
                served.append(answer.json()["blockNumber"])
    assert served == sorted(served), served


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs for the database and the queue, so the disk can really fill up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk) -> None:
    """Write until the disk says no more: not a byte left."""
    with (disk / "ballast").open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


async def test_when_the_disk_fills_up_writes_stop_cleanly_and_memory_keeps_serving(
    service, small_disk
):
    """Without the free-space watermark, SQLite's memory-mapped WAL index took a SIGBUS here."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tier1 = {"refresh": 5, "ttl": 10, "staleLimit": 60, "size": 50}
    async with service(data=small_disk, database={"min_free_mb": 2}) as client:
        cached = await client.get("/price/devchain/WETH/USDC")
        fill(small_disk)
        try:
            hit = await client.get("/price/devchain/WETH/USDC")
            new = await client.get("/price/devchain/DAI/USDC")  # from the chain, kept in memory
            again = await client.get("/price/devchain/DAI/USDC")
            client.clock.advance(700)
            stale = await client.get("/price/devchain/WETH/USDC")  # its refresh is not queued
            edit = await client.put("/admin/tiers/1", json=tier1, headers=auth)
            health = await client.get("/health")
        finally:
            (small_disk / "ballast").unlink()
        healed = await client.put("/admin/tiers/1", json=tier1, headers=auth)

    assert cached.status_code == hit.status_code == new.status_code == stale.status_code == 200
    caches = (new.json()["cache"], again.json()["cache"], stale.json()["cache"])
    assert caches == ("miss", "hit", "stale")
    assert edit.status_code == 503 and edit.json()["error"]["code"] == "store_unavailable"
    assert "disk nearly full: 0 MB free" in edit.json()["error"]["message"]
    assert health.status_code == 503 and "disk nearly full" in health.json()["database"]
    assert healed.status_code == 200


def make_read_only(data, on: bool) -> None:
    """Immutable database and WAL files: even writes through open descriptors fail, root or not.
    (The -shm index stays writable: it is memory-mapped, and a refused page is a SIGBUS.)"""
    files = [str(data / name) for name in ("pricefeed.db", "pricefeed.db-wal")]
    subprocess.run(["chattr", "+i" if on else "-i", *files], check=True)


async def test_when_the_database_turns_read_only_memory_keeps_serving(service, tmp_path):
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tier1 = {"refresh": 5, "ttl": 10, "staleLimit": 60, "size": 50}
    async with service(data=tmp_path) as client:
        cached = await client.get("/price/devchain/WETH/USDC")
        make_read_only(tmp_path, True)
        try:
            hit = await client.get("/price/devchain/WETH/USDC")
            new = await client.get("/price/devchain/DAI/USDC")  # from the chain, kept in memory
            again = await client.get("/price/devchain/DAI/USDC")
            edit = await client.put("/admin/tiers/1", json=tier1, headers=auth)
            health = await client.get("/health")
        finally:
            make_read_only(tmp_path, False)
        healed = await client.put("/admin/tiers/1", json=tier1, headers=auth)

    assert cached.status_code == hit.status_code == new.status_code == 200
    assert (new.json()["cache"], again.json()["cache"]) == ("miss", "hit")
    assert edit.status_code == 503
    assert edit.json()["error"]["code"] == "store_unavailable"
    reason = edit.json()["error"]["message"]
    assert reason.startswith("the database refused a write: ")
    assert "disk I/O error" in reason or "readonly" in reason
    assert health.status_code == 503 and "writes failing" in health.json()["database"]
    assert healed.status_code == 200
