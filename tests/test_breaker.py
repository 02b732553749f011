"""An endpoint's breaker: it opens on failures and 429 storms, spaces its probes, and closes again.

`PRICEFEED_LONG_FAULTS=1` makes the storm longer."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import LONG

from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.rpc.endpoint import Endpoint
from pricefeed.config import RpcSettings
from pricefeed.errors import UpstreamUnavailable


async def test_a_429_storm_opens_the_breaker_spaces_the_probes_and_recovers(proxy):
    storm = proxy()
    storm.faults.status = 429
    cooldown, seconds = 0.5, (2.0 if not LONG else 10.0)
    pool = RpcPool(
        "devchain",
        [storm.url],
        RpcSettings(breaker_failures=3, breaker_cooldown=cooldown, retries=1, deadline=2),
    )
    started = time.monotonic()
    for _ in range(int(seconds / 0.02)):  # a count of requests, at most one every 20 ms
        with pytest.raises(UpstreamUnavailable):
            await pool.request("eth_blockNumber", [])
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started  # the bound below, not an assertion on time
    sent_during_storm = storm.http_requests

    storm.faults.status = None
    await asyncio.sleep(cooldown + 0.1)
    await pool.request("eth_blockNumber", [])

    # three failures open it; after that one half-open probe per cool-down at most
    assert sent_during_storm <= 3 + elapsed / cooldown + 1
    assert pool.endpoints[0].state == "closed"
    await pool.close()


async def test_the_breaker_opens_then_half_opens_and_closes(proxy):
    failing = proxy()
    failing.faults.status = 500
    # the cool-down outlasts the retry back-off (0.1 s + 0.2 s, each with up to 0.5 s jitter)
    settings = RpcSettings(breaker_failures=3, breaker_cooldown=2.0, retries=3, deadline=5)
    pool = RpcPool("devchain", [failing.url], settings)
    (endpoint,) = pool.endpoints

    with pytest.raises(UpstreamUnavailable):
        await pool.request("eth_blockNumber", [])
    assert endpoint.state == "open"
    assert failing.http_requests == 3

    with pytest.raises(UpstreamUnavailable, match="circuit breaker is open"):
        await pool.request("eth_blockNumber", [])
    assert failing.http_requests == 3  # an open breaker sends nothing

    failing.faults.status = None
    await asyncio.sleep(2.0)
    await pool.request("eth_blockNumber", [])  # the half-open probe succeeds
    assert failing.http_requests == 4
    assert endpoint.state == "closed"
    await pool.close()


def test_when_the_breaker_opened_is_noted_through_its_public_listener():
    endpoint = Endpoint("http://127.0.0.1:9", RpcSettings(breaker_cooldown=3600.0))
    assert endpoint.can_try() and endpoint.opened.at is None

    endpoint.breaker.open()

    assert endpoint.opened.at is not None
    assert not endpoint.can_try()  # an hour's cool-down has not passed


async def test_a_failed_half_open_probe_opens_the_breaker_again(proxy):
    failing = proxy()
    failing.faults.status = 429
    settings = RpcSettings(breaker_failures=1, breaker_cooldown=0.3, retries=1, deadline=5)
    pool = RpcPool("devchain", [failing.url], settings)

    with pytest.raises(UpstreamUnavailable):
        await pool.request("eth_blockNumber", [])
    await asyncio.sleep(0.4)
    with pytest.raises(UpstreamUnavailable, match="HTTP 429"):
        await pool.request("eth_blockNumber", [])

    assert pool.endpoints[0].state == "open"
    assert failing.http_requests == 2
    await pool.close()
