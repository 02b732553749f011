"""A full disk or a read-only database stops writes cleanly; memory keeps serving."""

from __future__ import annotations

import subprocess

import pytest
from conftest import ADMIN_TOKEN


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
