"""Run anvil (from the pinned npm package) as a child process on a free local port."""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from pricefeed.devchain.build import ANVIL_BIN, ensure_npm_packages

CHAIN_ID = 31337
# eth_call on anvil is capped at the block gas limit; batches of 50 quotes need far more than
# mainnet's 30M. Public chains get their own cap from config (`multicall_gas_limit`).
GAS_LIMIT = 1_000_000_000


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: anvil gets SIGTERM when the process that started it dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def rpc(url: str, method: str, params: list | None = None, timeout: float = 5.0):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer = json.loads(resp.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


class Anvil:
    """An anvil process; automine until `set_block_time` switches it to interval mining."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", log: Path | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self._log = log
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Anvil:
        ensure_npm_packages()
        out = self._log.open("ab") if self._log else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [
                str(ANVIL_BIN),
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--chain-id",
                str(CHAIN_ID),
                "--gas-limit",
                str(GAS_LIMIT),
                "--disable-code-size-limit",  # NonfungiblePositionManager's artifact is ~25 KB
                "--balance",
                "1000000000",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self._proc.returncode}")
            try:
                rpc(self.url, "eth_chainId", timeout=1.0)
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout} s")

    def set_block_time(self, seconds: int) -> None:
        rpc(self.url, "evm_setIntervalMining", [seconds])

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
