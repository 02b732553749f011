"""The bench's world in a process of its own: anvil with the devchain and a long tail of tokens,
a market swapping every block, and a slow, rate-limited RPC proxy in front of the node.

It lives apart from the load generator so that neither steals the other's interpreter.
`python -m pricefeed.bench.world DIR ...` prints one JSON line when ready and runs until
SIGTERM; `World` starts it, reads the proxy's counts over HTTP and stops it.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import click

from pricefeed.devchain.node import _die_with_parent

READY_TIMEOUT = 900.0  # seconds: deploying the devchain and a long tail takes a while


class World:
    """The world process, seen from the bench: its proxy URL, tokens and config."""

    def __init__(
        self,
        directory: Path,
        latency: tuple[float, float],
        rate_limit: float | None,
        tail: int,
        market: bool = True,
        seed: int = 7,
    ):
        self.args = [str(directory), f"--latency={latency[0]}-{latency[1]}", f"--tail={tail}"]
        self.args += [f"--rate-limit={rate_limit or 0}", f"--seed={seed}"]
        self.args += ["--market" if market else "--no-market"]
        self.log = directory / "world.log"
        self.info: dict = {}
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> World:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "pricefeed.bench.world", *self.args],
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            preexec_fn=_die_with_parent,  # no world left behind if the bench is killed
        )
        try:
            self.info = self._ready_line()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def proxy(self) -> str:
        return self.info["proxy"]

    @property
    def config(self) -> Path:
        return Path(self.info["config"])

    @property
    def tokens(self) -> list[str]:
        return self.info["tokens"]

    def counts(self) -> dict:
        """The proxy's counts since its last reset: HTTP requests, JSON-RPC methods, 429s."""
        with urllib.request.urlopen(self.proxy + "/_proxy/counts", timeout=10) as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        request = urllib.request.Request(self.proxy + "/_proxy/reset", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def _ready_line(self) -> dict:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._proc.stdout], [], [], 1.0)
            if readable:
                line = self._proc.stdout.readline()
                if not line:
                    break
                if line.startswith("{"):
                    return json.loads(line)
            elif self._proc.poll() is not None:
                break
        tail = self.log.read_text()[-2000:]
        raise RuntimeError(f"the bench world did not start (see {self.log}):\n{tail}")


def serve(directory: Path, latency, rate_limit, tail: int, market: bool, seed: int) -> None:
    """Build the world, announce it on stdout, and keep it until SIGTERM."""
    from pricefeed.bench.harness import add_tail_tokens, config_for
    from pricefeed.devchain.deploy import deploy
    from pricefeed.devchain.market import Market
    from pricefeed.devchain.node import Anvil
    from pricefeed.devchain.rpcproxy import RpcProxy

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Anvil(log=directory / "anvil.log") as anvil, RpcProxy(anvil.url) as proxy:
        d = deploy(anvil.url)
        tokens = [s for s in d.tokens if s != "NOPE"] + add_tail_tokens(d, tail)
        anvil.set_block_time(1)
        trader = threading.Thread(target=Market(d, seed=seed).run, args=(stop,), daemon=True)
        if market:
            trader.start()
        proxy.faults.delay = latency
        proxy.faults.rate_limit = rate_limit
        config = directory / "pricefeed.toml"
        config.write_text(config_for(d, proxy.url))
        ready = {"proxy": proxy.url, "anvil": anvil.url, "tokens": tokens, "config": str(config)}
        print(json.dumps(ready | {"addresses": d.tokens}), flush=True)
        while not stop.wait(0.5):
            pass
        if market:
            trader.join(10)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--latency", default="2-5", help="seconds added to each RPC request, LO-HI")
@click.option("--rate-limit", default=25.0, help="RPC requests per second; 0 for no cap")
@click.option("--tail", default=30, help="long-tail tokens added to the devchain")
@click.option("--market/--no-market", default=True, help="random swaps every block")
@click.option("--seed", default=7)
def main(directory: Path, latency: str, rate_limit: float, tail: int, market: bool, seed: int):
    """Run the bench's world until SIGTERM."""
    low, _, high = latency.partition("-")
    delay = (float(low), float(high or low))
    serve(directory, delay, rate_limit or None, tail, market, seed)


if __name__ == "__main__":
    main()
