"""`pricefeed devchain --market` starts a chain whose prices move, and cleans up after itself."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time

from test_cli import PRICEFEED

from pricefeed.chain.engine import QuoteEngine
from pricefeed.config import load_settings
from pricefeed.devchain.node import free_port

PAIRS = [("WETH", "USDC"), ("USDC", "WETH"), ("WBTC", "WETH"), ("DAI", "USDC"), ("UNI", "WETH")]


async def test_the_devchain_command_runs_a_moving_market_and_stops_anvil(tmp_path):
    port, config = free_port(), tmp_path / "pricefeed.toml"
    command = [
        PRICEFEED,
        "devchain",
        "--port",
        str(port),
        "--block-time",
        "1",
        "--market",
        "--config-out",
        str(config),
    ]
    log = tmp_path / "devchain.log"
    devchain = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        await _wait_for(config.exists, 180, log.read_text)  # a guard on a hung start only
        engine = QuoteEngine(load_settings(config, env={}))
        first = await _quotes(engine)
        later, changed = first, False
        for _ in range(240):  # polls until a quote moves, or 30 blocks pass: blocks, not seconds
            await asyncio.sleep(1)
            later = await _quotes(engine)
            changed = any(
                a.amount_out_raw != b.amount_out_raw for a, b in zip(first, later, strict=True)
            )
            if changed or later[0].block_number >= first[0].block_number + 30:
                break
        assert later[0].block_number > first[0].block_number
        # swaps go to random pools, a few a block: some block soon moves one of these routes
        assert changed, "no quote moved in 30 blocks although the market swaps every block"
        await engine.close()
    finally:
        devchain.terminate()
        devchain.wait(15)
    assert devchain.returncode == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "anvil still listens after the command ended"


async def _quotes(engine):
    return [await engine.quote("devchain", a, b, "1") for a, b in PAIRS]


async def _wait_for(ready, timeout: float, why) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; devchain said: {why()}")
        await asyncio.sleep(0.1)


def test_the_devchain_command_keeps_a_config_it_did_not_write(tmp_path):
    config = tmp_path / "pricefeed.toml"
    config.write_text("# mine\n")
    done = subprocess.run(
        [PRICEFEED, "devchain", "--config-out", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert done.returncode == 1
    assert "was not written by this command" in done.stderr
    assert config.read_text() == "# mine\n"
