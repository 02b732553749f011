"""What every benchmark needs: a devchain (with a long tail of tokens), a slow RPC in front of
it, the service as a process, and summaries of latencies."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from pricefeed.devchain.build import ensure_contracts, uniswap_artifact
from pricefeed.devchain.deploy import DEADLINE, Deployment
from pricefeed.devchain.node import _die_with_parent, free_port
from pricefeed.devchain.service import files_env, wait_ready
from pricefeed.metrics import percentiles


def add_tail_tokens(d: Deployment, count: int) -> list[str]:
    """`count` 18-decimal tokens, each in a V2 pool against WETH of its own depth."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(d.url))
    me = d.deployer
    art = ensure_contracts()["DevToken"]
    router = w3.eth.contract(d.v2_router, abi=uniswap_artifact("UniswapV2Router02").abi)
    symbols = []
    for i in range(count):
        symbol = f"TAIL{i:02d}"
        tx = w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(
            f"Tail {i}", symbol, 18
        )
        address = w3.eth.wait_for_transaction_receipt(tx.transact({"from": me})).contractAddress
        token = w3.eth.contract(address, abi=art.abi)
        token.functions.mint(me, 10**30).transact({"from": me})
        token.functions.approve(d.v2_router, 2**256 - 1).transact({"from": me})
        weth = (5 + 7 * i) * 10**18  # deeper and shallower pools along the tail
        router.functions.addLiquidity(
            address, d.weth, weth * (10 + i), weth, 0, 0, me, DEADLINE
        ).transact({"from": me})
        d.tokens[symbol], d.decimals[symbol] = address, 18
        symbols.append(symbol)
    return symbols


def config_for(d: Deployment, rpc_url: str, extra: str = "") -> str:
    """The devchain's config with its endpoint replaced (by a proxy) and RPC patience for 2-5 s."""
    return (
        "include_default_chains = false\n[cache]\nfetch_deadline = 60.0\n"
        + d.config_toml(block_time=1).replace(
            f'rpc_urls = ["{d.url}"]', f'rpc_urls = ["{rpc_url}"]'
        )
        + "[chains.devchain.rpc]\nrequest_timeout = 20.0\nhedge_after = 1.5\ndeadline = 60.0\n"
        + extra
    )


@contextmanager
def service(config: Path, data: Path, command: list[str] | None = None, **env: str):
    """`pricefeed run` (or `command`, "{port}" in it replaced) on a free port with its files in
    `data`; stopped on exit."""
    port = free_port()
    command = [a.replace("{port}", str(port)) for a in command] if command else None
    environment = {
        **os.environ,
        **files_env(data, config),
        "PRICEFEED__SERVER__RATE_LIMIT": "0",  # the load generator is one client
        **env,
    }
    log = data / "server.log"
    server = subprocess.Popen(
        command or [str(Path(sys.executable).with_name("pricefeed")), "run", "--port", str(port)],
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    (data / "server.pid").write_text(str(server.pid))  # for figures read from /proc
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        yield base, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


@contextmanager
def server_process(command: list[str], log: Path, env: dict | None = None):
    """A server the bench starts; SIGTERM on exit (SIGKILL if it lingers), and it dies with us."""
    process = subprocess.Popen(
        command,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        preexec_fn=_die_with_parent,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a live process (Linux), None if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def summary(seconds: list[float]) -> dict:
    """Count, mean, p50/p95/p99 and max, in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    p = percentiles(ms)
    return {
        "n": len(ms),
        "meanMs": round(statistics.fmean(ms), 2),
        **{k + "Ms": round(v, 2) for k, v in p.items()},
        "maxMs": round(max(ms), 2),
    }
