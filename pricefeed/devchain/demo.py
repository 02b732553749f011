"""`pricefeed demo`: the devchain with a moving market and the service on it, in one command.

Everything it starts is its own child and stops with it: on Ctrl-C, SIGTERM, or when either
child dies. Its files live in one directory (var/demo), never the user's ./pricefeed.toml.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pricefeed.config import ADMIN_TOKEN_VARIABLE, ConfigError, load_settings
from pricefeed.devchain.deploy import deploy
from pricefeed.devchain.market import Market
from pricefeed.devchain.node import Anvil, _die_with_parent, free_port
from pricefeed.devchain.service import NotReady, files_env, wait_ready
from pricefeed.web.auth import admin_token, sign_in_url

log = logging.getLogger(__name__)
BLOCK_TIME = 2
WARM_PAIRS = ["WETH/USDC", "WBTC/USDC", "DAI/USDC", "LINK/USDC", "UNI/WETH"]


class DemoError(Exception):
    pass


@dataclass
class Demo:
    home: Path  # config, database, queue, logs, sign-in token
    chain_port: int

    @property
    def config(self) -> Path:
        return self.home / "pricefeed.toml"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PRICEFEED_CONFIG": str(self.config),
            **files_env(self.home),
        }

    def fresh(self) -> None:
        """A new chain each run: the last run's stored quotes and pool states were of another."""
        self.home.mkdir(parents=True, exist_ok=True)
        for pattern in ("pricefeed.db*", "queue.db*"):
            for path in self.home.glob(pattern):
                path.unlink()


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def run(home: Path, chain_port: int, say=print) -> None:
    """Start everything, warm a few pairs, say where to look, and wait for a signal."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the `finally` below runs
    if port_taken("127.0.0.1", chain_port):
        chain_port = free_port()
    demo = Demo(home.resolve(), chain_port)
    demo.fresh()
    stop = threading.Event()
    service: subprocess.Popen | None = None
    with Anvil(port=chain_port) as anvil:
        try:
            deployment = deploy(anvil.url)
            anvil.set_block_time(BLOCK_TIME)
            demo.config.write_text(
                "include_default_chains = false  # offline: the devchain only\n"
                + deployment.config_toml(BLOCK_TIME)
            )
            settings = _settings(demo)
            host, port = settings.server.host, settings.server.port
            if port_taken(host, port):
                raise DemoError(f"port {port} is taken: set PRICEFEED__SERVER__PORT to another")
            service = _start_service(demo, port)
            market = threading.Thread(target=_trade, args=(deployment, stop), daemon=True)
            market.start()
            url = f"http://{host}:{port}"
            _wait_ready(url, service)
            _warm(url)
            say(_where_to_look(demo, settings, url, anvil.url))
            while service.poll() is None:
                time.sleep(0.5)
            raise DemoError(f"the service stopped; its log: {demo.home / 'service.log'}")
        finally:
            stop.set()
            if service is not None:
                _stop(service)


def _settings(demo: Demo):
    try:
        return load_settings(demo.config, env=demo.env())
    except ConfigError as e:
        raise DemoError(f"bad configuration: {e}") from None


def _start_service(demo: Demo, port: int) -> subprocess.Popen:
    with (demo.home / "service.log").open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "pricefeed", "run", "--port", str(port)],
            env=demo.env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # however this process ends, the service ends too
        )


def _trade(deployment, stop: threading.Event) -> None:
    try:
        Market(deployment).run(stop)
    except Exception:  # the chain went away: the demo is stopping
        if not stop.is_set():
            log.exception("the market stopped")


def _wait_ready(url: str, service: subprocess.Popen, timeout: float = 90.0) -> None:
    try:
        wait_ready(url, service, timeout)
    except NotReady as e:
        raise DemoError(f"{e}; see service.log") from None


def _warm(url: str) -> None:
    """Ask for a few pairs, so the dashboard has something to show from the start."""
    for pair in WARM_PAIRS:
        for amount in ("1", "10"):
            try:
                urllib.request.urlopen(f"{url}/price/devchain/{pair}?amount={amount}", timeout=30)
            except OSError as e:
                log.warning("warming %s: %s", pair, e)


def _where_to_look(demo: Demo, settings, url: str, chain_url: str) -> str:
    token, path = admin_token(settings)
    if path is None:
        sign_in = f"{url}/dashboard  (sign in with your {ADMIN_TOKEN_VARIABLE})"
    else:
        link = sign_in_url(settings.server.host, settings.server.port, token)
        sign_in = f"{link}\n             (the token is kept in {path})"
    curl = "curl" if shutil.which("curl") else "GET"
    return f"""
pricefeed demo: a local chain with a moving market, and the service on it

  a quote    {curl} '{url}/price/devchain/WETH/USDC?amount=1.5'
  dashboard  {sign_in}
  API docs   {url}/schema
  devchain   {chain_url} (chain id 31337), its config in {demo.config}

Ctrl-C stops everything.
"""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
