"""Killed with SIGKILL under load and restarted with the RPC down: pairs answered before are
answered at once from the persisted pool state, flagged stale, at the block it was saved at,
for any amount, exact to the wei."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time

from conftest import ServiceProcess

PAIRS = [("WETH", "USDC"), ("WBTC", "USDC"), ("LINK", "DAI"), ("UNI", "WBTC")]


def saved_head(data) -> tuple[int, int]:
    """(block the saved state is at, pools saved), read from the real SQLite file."""
    with sqlite3.connect(data / "pricefeed.db") as db:
        head = db.execute("SELECT block_number FROM chain_heads").fetchone()
        pools = db.execute("SELECT count(*) FROM pool_states").fetchone()[0]
    return (head[0] if head else 0), pools


def load(service: ServiceProcess, stop: threading.Event) -> None:
    """Requests for random amounts until the service is gone (at most 300)."""
    for i in range(300):
        if stop.is_set():
            return
        a, b = PAIRS[i % len(PAIRS)]
        try:
            service.request(f"/price/devchain/{a}/{b}?amount={1 + i % 7}.{i}")
        except OSError:
            return


def test_a_killed_feed_restarts_on_its_saved_state_with_the_rpc_down(
    devchain, proxy, tmp_path, oracle
):
    rpc = proxy()
    config = tmp_path / "pricefeed.toml"
    toml = devchain.config_toml(block_time=1).replace(devchain.url, rpc.url)
    config.write_text("include_default_chains = false\n" + toml)
    service = ServiceProcess(config, tmp_path).start()
    try:
        before = {}
        for a, b in PAIRS:
            status, body = service.request(f"/price/devchain/{a}/{b}?amount=1.5")
            assert status == 200, body
            before[a, b] = json.loads(body)
        deadline = time.monotonic() + 120  # a guard on a hang: saving is not timed here
        while saved_head(tmp_path)[0] < max(q["blockNumber"] for q in before.values()):
            assert time.monotonic() < deadline, "the pool state was never saved"
            time.sleep(0.2)
        stop = threading.Event()
        loader = threading.Thread(target=load, args=(service, stop))
        loader.start()
        time.sleep(1.0)
        service.proc.send_signal(signal.SIGKILL)
        service.proc.wait(10)
        stop.set()
        loader.join(30)
        rpc.faults.status = 503  # every endpoint of the chain is down from here on
        block, pools = saved_head(tmp_path)

        service.start()
        for a, b in PAIRS:
            # every endpoint answers 503: a 200 can only come from the saved state
            status, body = service.request(f"/price/devchain/{a}/{b}?amount=2.345")
            assert status == 200, body
            quote = json.loads(body)
            assert quote["stale"] is True and quote["blockNumber"] == block
            raw = int(quote["amountInRaw"])
            assert int(quote["amountOutRaw"]) == oracle.best(a, b, raw, block, v2_then_v3=True)
            status, body = service.request(f"/price/devchain/{a}/{b}?amount=1.5")
            again = json.loads(body)  # the answer it had (refreshed before the kill, or not)
            assert status == 200 and again["stale"] is True
            assert before[a, b]["blockNumber"] <= again["blockNumber"] <= block
            raw = int(again["amountInRaw"])
            assert int(again["amountOutRaw"]) == oracle.best(
                a, b, raw, again["blockNumber"], v2_then_v3=True
            )
    finally:
        service.stop()
    assert pools >= 8
