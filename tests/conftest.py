"""Shared fixtures: one devchain per test session, real quote engines, fault proxies."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from oracle import Oracle
from web3 import Web3

from pricefeed.app import create_app
from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.rpc.redact import install_log_redaction
from pricefeed.config import DatabaseSettings, QueueSettings, load_settings
from pricefeed.devchain.build import ensure_contracts, uniswap_artifact
from pricefeed.devchain.deploy import DEADLINE, Deployment, deploy
from pricefeed.devchain.node import Anvil, free_port
from pricefeed.devchain.rpcproxy import RpcProxy
from pricefeed.devchain.service import NotReady, files_env, wait_ready

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
LONG = os.environ.get("PRICEFEED_LONG_FAULTS") == "1"  # the fault scenarios, longer and more
ADMIN_TOKEN = "test-admin-token-0123456789abcdefghijklmnop"  # 32+ characters, as start-up asks
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _redacted_logs():
    install_log_redaction()


@pytest.fixture(scope="session")
def anvil(worker_id):  # "master" without xdist
    ARTIFACTS.mkdir(exist_ok=True)
    with Anvil(log=ARTIFACTS / f"anvil-{worker_id}.log") as node:
        yield node


@pytest.fixture(scope="session")
def devchain(anvil) -> Deployment:
    return deploy(anvil.url)


@pytest.fixture(scope="session")
def oracle(devchain) -> Oracle:
    return Oracle(devchain)


@pytest.fixture(scope="session")
def config_file(devchain, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "pricefeed.toml"
    path.write_text("include_default_chains = false\n" + devchain.config_toml(block_time=1))
    return path


@pytest.fixture(scope="session")
def settings(config_file):
    return load_settings(config_file, env={})


@pytest.fixture
async def engine(settings):
    engine = QuoteEngine(settings)
    yield engine
    await engine.close()


@pytest.fixture
async def engine_via(settings):
    """Engines whose devchain endpoints are `urls` (proxies); all closed after the test."""
    made: list[QuoteEngine] = []

    def make(urls: list[str], **rpc) -> QuoteEngine:
        made.append(QuoteEngine(via(settings, urls, **rpc)))
        return made[-1]

    yield make
    for engine in made:
        await engine.close()


@pytest.fixture
def proxy(anvil):
    """Start fault-injecting proxies in front of the devchain; all stop after the test."""
    started: list[RpcProxy] = []

    def make() -> RpcProxy:
        p = RpcProxy(anvil.url).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def via(settings, urls: list[str], **rpc) -> object:
    """`settings` with the devchain's endpoints replaced by `urls` and RPC tuning overridden."""
    chain = settings.chains["devchain"]
    chain = msgspec.structs.replace(
        chain, rpc_urls=urls, rpc=msgspec.structs.replace(chain.rpc, **rpc)
    )
    return msgspec.structs.replace(settings, chains={"devchain": chain})


class Clock:
    """Wall time plus an offset the test moves forward, to age cached quotes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def service(settings, tmp_path):
    """Start the real app (store, feed, queue) on files in tmp_path; stopped after the test.

    `immediate=True` runs refresh jobs inline (for tests that are not about the queue).
    The admin token is ADMIN_TOKEN unless `admin_token` says otherwise ("": the token file).
    """
    clients: list = []

    @asynccontextmanager
    async def start(
        urls: list[str] | None = None,
        immediate: bool = True,
        in_process: bool = True,
        data=tmp_path,
        cache: dict | None = None,
        server: dict | None = None,
        database: dict | None = None,
        sections: dict[str, dict] | None = None,  # any other settings table, e.g. metrics
        base_url: str = "http://testserver.local",
        chain: dict | None = None,  # the devchain's own settings, e.g. block_time
        admin_token: str = ADMIN_TOKEN,
        **rpc,
    ):
        s = via(settings, urls, **rpc) if urls else settings
        if chain:
            devchain = msgspec.structs.replace(s.chains["devchain"], **chain)
            s = msgspec.structs.replace(s, chains={**s.chains, "devchain": devchain})
        s = msgspec.structs.replace(
            s,
            database=DatabaseSettings(
                url=f"sqlite+aiosqlite:///{data}/pricefeed.db", **(database or {})
            ),
            queue=QueueSettings(path=str(data / "queue.db"), in_process=in_process),
            cache=msgspec.structs.replace(s.cache, **(cache or {})),
            server=msgspec.structs.replace(
                s.server, **({"admin_token": admin_token} | (server or {}))
            ),
        )
        # loading every configured pair at start is on by default; tests that count RPC turn
        # it on themselves (test_warm_start.py)
        sections = {"state": {"warm_start": False}} | (sections or {})
        for table, values in sections.items():
            s = msgspec.structs.replace(
                s, **{table: msgspec.structs.replace(getattr(s, table), **values)}
            )
        app = create_app(s, queue_immediate=immediate)
        clock = Clock()
        app.state.feed.clock = app.state.engine.clock = clock
        async with AsyncTestClient(app, base_url=base_url) as client:
            client.app, client.clock = app, clock
            clients.append(client)
            yield client

    return start


PRICEFEED = str(Path(sys.executable).with_name("pricefeed"))
ROOT = Path(__file__).parent.parent


class ServiceProcess:
    """`pricefeed run` (or `worker`) as operators start it, on files in `data`."""

    def __init__(self, config: Path, data: Path, command: str = "run", **env: str):
        self.config, self.data, self.command, self.env = config, data, command, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        environment = {
            **os.environ,
            **files_env(self.data, self.config),
            **self.env,
        }
        args = [PRICEFEED, self.command] + (
            ["--port", str(self.port)] if self.command == "run" else []
        )
        log = (self.data / f"{self.command}.log").open("a")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        if self.command == "run":
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until it answers ready. The bound only stops a hung start: on a busy 2-core box the
        imports alone have taken 18 s, and a start is never what a test measures."""
        try:
            wait_ready(self.url, self.proc, timeout)
        except NotReady as e:
            self.proc.kill()  # a module's fixture that fails here never reaches its stop()
            self.proc.wait()
            raise AssertionError(f"{self.command}: {e}: {self.log()[-2000:]}") from None

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def request(
        self, path: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        """Any HTTP request: the status and the body, error statuses included."""
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(60)  # a graceful stop, not timed: a busy box stretches it
        finally:
            self.proc.kill()

    def restart(self) -> ServiceProcess:
        self.stop()
        return self.start()

    def log(self) -> str:
        return (self.data / f"{self.command}.log").read_text()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by playwright (the pages are tested as people see them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def form_token(page) -> str:
    """The CSRF token a dashboard page put in its forms."""
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def sign_in(client, secret: str = ADMIN_TOKEN):
    """Post the dashboard's sign-in form as a browser would: page first, then the form."""
    form = {"secret": secret, "next": "/dashboard"}
    form["_csrf_token"] = form_token(await client.get("/dashboard/login"))
    return await client.post("/dashboard/login", data=form, follow_redirects=False)


async def on_app(client, fn, *args):
    """Run `fn(*args)` on the app's own loop (the test client hosts it in another thread)."""
    return await asyncio.to_thread(client.blocking_portal.call, fn, *args)


async def settle(client, timeout: float = 30.0) -> None:
    """Wait until the refreshes the feed queued in the background are done."""
    deadline = time.monotonic() + timeout
    while client.app.state.feed.refreshes.background:
        assert time.monotonic() < deadline, "background refresh did not finish"
        await asyncio.sleep(0.02)


def deploy_unlisted_token(devchain, name: str = "Long Tail", symbol: str = "TAIL") -> str:
    """A 9-decimal token the config has never heard of, in a V2 pool against WETH."""
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    me = devchain.deployer
    art = ensure_contracts()["DevToken"]
    tx = w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(name, symbol, 9)
    token = w3.eth.contract(
        w3.eth.wait_for_transaction_receipt(
            tx.transact({"from": me, "gas": 30_000_000})
        ).contractAddress,
        abi=art.abi,
    )
    # mined before the pool is added: its gas estimate runs on the latest block, and on an
    # interval-mining chain the approval would still be pending there
    for call in (
        token.functions.mint(me, 10**18),
        token.functions.approve(devchain.v2_router, 2**256 - 1),
    ):
        w3.eth.wait_for_transaction_receipt(call.transact({"from": me}))
    router = w3.eth.contract(devchain.v2_router, abi=uniswap_artifact("UniswapV2Router02").abi)
    added = router.functions.addLiquidity(
        token.address, devchain.tokens["WETH"], 1_000_000 * 10**9, 10 * 10**18, 0, 0, me, DEADLINE
    ).transact({"from": me})
    w3.eth.wait_for_transaction_receipt(added)  # anvil answers before it mines the block
    return token.address
