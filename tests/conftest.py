"""Shared fixtures: one devchain per test session, real quote engines, fault proxies."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from pricefeed.config import DatabaseSettings, QueueSettings, load_settings
from pricefeed.devchain.deploy import Deployment, deploy
from pricefeed.devchain.node import Anvil
from pricefeed.devchain.rpcproxy import RpcProxy
from pricefeed.engine import QuoteEngine
from pricefeed.rpc.redact import install_log_redaction

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def _redacted_logs():
    install_log_redaction()


@pytest.fixture(scope="session")
def anvil():
    ARTIFACTS.mkdir(exist_ok=True)
    with Anvil(log=ARTIFACTS / "anvil.log") as node:
        yield node


@pytest.fixture(scope="session")
def devchain(anvil) -> Deployment:
    return deploy(anvil.url)


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
    """
    clients: list = []

    @asynccontextmanager
    async def start(
        urls: list[str] | None = None,
        immediate: bool = True,
        in_process: bool = True,
        data=tmp_path,
        cache: dict | None = None,
        **rpc,
    ):
        s = via(settings, urls, **rpc) if urls else settings
        s = msgspec.structs.replace(
            s,
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data}/pricefeed.db"),
            queue=QueueSettings(path=str(data / "queue.db"), in_process=in_process),
            cache=msgspec.structs.replace(s.cache, **(cache or {})),
        )
        app = create_app(s, queue_immediate=immediate)
        clock = Clock()
        app.state.feed.clock = app.state.engine.clock = clock
        async with AsyncTestClient(app) as client:
            client.app, client.clock = app, clock
            clients.append(client)
            yield client

    return start
