"""API keys in endpoint URLs never reach logs or errors."""

from __future__ import annotations

import logging

import pytest

from pricefeed.chain.rpc import RpcPool
from pricefeed.config import RpcSettings
from pricefeed.errors import UpstreamUnavailable

CANARY = "canary5ecret0123456789abcdef"


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
