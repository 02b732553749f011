"""The RPC pool survives hung, failing and lagging endpoints, and never leaks API keys."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.rpc.endpoint import Endpoint
from pricefeed.config import RpcSettings
from pricefeed.devchain.node import rpc
from pricefeed.errors import UpstreamUnavailable

CANARY = "canary5ecret0123456789abcdef"


async def test_a_hung_primary_is_answered_for_by_the_next_endpoint(anvil, proxy):
    hung, healthy = proxy(), proxy()
    hung.faults.hang = True
    settings = RpcSettings(hedge_after=1.0, request_timeout=60.0)
    pool = RpcPool("devchain", [hung.url, healthy.url], settings)

    head = await pool.request("eth_blockNumber", [])
    hung_answered = len(hung.timeline)  # requests the hung proxy has finished, so far

    assert int(head, 16) == int(rpc(anvil.url, "eth_blockNumber"), 16)
    assert hung.methods["eth_blockNumber"] == 1
    assert healthy.methods["eth_blockNumber"] == 1
    assert hung_answered == 0  # answered by the hedge, not after the primary's 60 s timeout
    await pool.close()


async def test_a_quote_goes_through_while_the_primary_hangs(engine_via, proxy):
    hung, healthy = proxy(), proxy()
    hung.faults.hang = True
    engine = engine_via([hung.url, healthy.url])

    quote = await engine.quote("devchain", "WETH", "USDC", "1")

    assert quote.amount_out_raw > 0
    assert healthy.methods["eth_call"] >= 1


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


async def test_a_lagging_endpoint_is_demoted(anvil, engine_via, proxy):
    for _ in range(10):
        rpc(anvil.url, "evm_mine")
    lagging, current = proxy(), proxy()
    lagging.faults.lag = 6
    engine = engine_via([lagging.url, current.url], max_lag_blocks=3)
    quoter = engine.quoter(engine.chains.get("devchain"))

    quote = await engine.quote("devchain", "WETH", "USDC", "1")

    slow, fast = quoter.rpc.endpoints
    assert quoter.rpc.is_lagging(slow)
    assert quoter.rpc.ranked()[0] is fast
    assert quote.block_number == int(rpc(anvil.url, "eth_blockNumber"), 16)


async def test_each_endpoint_is_held_to_its_rate_limit(proxy):
    counted = proxy()
    pool = RpcPool("devchain", [counted.url], RpcSettings(rate_limit=5))

    burst = [asyncio.ensure_future(pool.request("eth_blockNumber", [])) for _ in range(15)]
    await asyncio.sleep(0.5)
    reached_early = counted.http_requests
    await asyncio.gather(*burst)

    assert reached_early <= 8  # a bucket of 5, refilled at 5 per second
    assert counted.http_requests == 15  # all served, none dropped
    await pool.close()


@pytest.mark.parametrize("fault", ["status", "hang"])
async def test_api_keys_never_reach_logs_or_errors(proxy, caplog, fault):
    endpoint = proxy()
    endpoint.faults.status = 429 if fault == "status" else None
    endpoint.faults.hang = fault == "hang"
    url = f"{endpoint.url}/v3/{CANARY}"
    settings = RpcSettings(request_timeout=0.3, hedge_after=0.2, retries=2, deadline=3)
    pool = RpcPool("devchain", [url], settings)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(UpstreamUnavailable) as error:
        await pool.request("eth_blockNumber", [])

    assert endpoint.http_requests >= 1
    assert "/***" in str(error.value)  # the endpoint, by host only
    seen = [str(error.value), caplog.text, pool.endpoints[0].label, pool.endpoints[0].last_error]
    assert all(CANARY not in text for text in seen)
    assert "web3" in caplog.text  # web3's own debug lines, which carry the URI, were scrubbed
    await pool.close()
