"""The command line: `pricefeed quote` prints an exact quote, `pricefeed run` serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from oracle import Oracle

from pricefeed.devchain.node import free_port
from pricefeed.devchain.service import wait_ready

ROOT = Path(__file__).parent.parent
PRICEFEED = str(Path(sys.executable).with_name("pricefeed"))


def pricefeed(*args: str, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRICEFEED_CONFIG": str(config)}
    return subprocess.run([PRICEFEED, *args], env=env, capture_output=True, text=True, timeout=60)


def test_quote_prints_the_exact_quote_with_route_and_block(config_file, devchain):
    done = pricefeed("quote", "devchain", "WETH", "USDC", "1.5", "--json", config=config_file)
    assert done.returncode == 0, done.stderr
    quote = json.loads(done.stdout)

    best = Oracle(devchain).best("WETH", "USDC", 15 * 10**17, quote["blockNumber"], v2_then_v3=True)
    assert quote["amountOutRaw"] == str(best)
    assert quote["amountInRaw"] == "1500000000000000000"
    assert quote["route"][0]["tokenIn"] == "WETH"
    assert quote["blockHash"].startswith("0x")


def test_quote_reads_like_a_sentence(config_file):
    done = pricefeed("quote", "devchain", "weth", "usdc", "1.5", config=config_file)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1.5 WETH -> ")
    assert lines[0].endswith(" USDC  on devchain (31337)")
    assert lines[1].startswith("price  ") and lines[1].endswith(" USDC per WETH")
    assert lines[2].startswith("route  WETH -> USDC  uniswap-")
    assert lines[3].startswith("block  ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["devchain", "WETH", "USDC", "-1"], "bad_amount: amount must be greater than zero"),
        (["mars", "WETH", "USDC"], "unknown_chain: no chain 'mars'"),
        (["devchain", "DAI", "UNI"], "no_route: no route with liquidity for DAI->UNI"),
    ],
)
def test_quote_explains_bad_input_and_fails(config_file, args, message):
    done = pricefeed("quote", *args, config=config_file)
    assert done.returncode == 1
    assert message in done.stderr


def test_a_bad_config_stops_the_cli_with_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'x'\n")
    done = pricefeed("quote", "devchain", "WETH", "USDC", config=bad)
    assert done.returncode == 1
    assert "bad configuration: server.port: Expected `int`, got `str`" in done.stderr


def test_settings_lists_the_admin_token_and_infura_key_but_never_their_values(config_file):
    secrets = {"PRICEFEED_ADMIN_TOKEN": "t" * 40, "INFURA_KEY": "k" * 32}
    env = {**os.environ, "PRICEFEED_CONFIG": str(config_file), **secrets}
    done = subprocess.run(
        [PRICEFEED, "settings"], env=env, capture_output=True, text=True, timeout=60
    )
    listed = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ")}

    assert done.returncode == 0, done.stderr
    assert "PRICEFEED_ADMIN_TOKEN" in listed["admin_token"]
    assert "INFURA_KEY" in listed["infura_key"]
    assert listed["admin_token"].endswith("[secret: set]")
    assert listed["infura_key"].endswith("[secret: set]")
    assert all(value not in done.stdout + done.stderr for value in secrets.values())


def test_run_serves_health(config_file):
    port = free_port()
    env = {**os.environ, "PRICEFEED_CONFIG": str(config_file)}
    server = subprocess.Popen(
        [PRICEFEED, "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = _get_when_up(f"http://127.0.0.1:{port}/health", server)
        assert body["status"] == "ok"
        assert body["chains"]["devchain"]["chainId"] == 31337
    finally:
        server.terminate()
        server.wait(60)  # a graceful stop; its speed is not what this test is about


def _get_when_up(url: str, process: subprocess.Popen) -> dict:
    base, path = url.rsplit("/", 1)
    wait_ready(base, process, path="/" + path)
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_quote_from_state_finds_v2_then_v3_where_the_onchain_quoters_cannot(config_file, devchain):
    state = pricefeed("quote", "devchain", "LINK", "DAI", "100", "--json", config=config_file)
    onchain = pricefeed(
        "quote", "devchain", "LINK", "DAI", "100", "--json", "--onchain", config=config_file
    )
    ours, theirs = json.loads(state.stdout), json.loads(onchain.stdout)
    oracle = Oracle(devchain)

    assert [h["kind"] for h in ours["route"]] == ["uniswap_v2", "uniswap_v3"]
    assert int(ours["amountOutRaw"]) > int(theirs["amountOutRaw"])
    assert ours["amountOutRaw"] == str(
        oracle.best("LINK", "DAI", 100 * 10**18, ours["blockNumber"], v2_then_v3=True)
    )
    assert theirs["amountOutRaw"] == str(
        oracle.best("LINK", "DAI", 100 * 10**18, theirs["blockNumber"])
    )
