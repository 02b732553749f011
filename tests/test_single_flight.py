"""Concurrent first requests share the chain's work: one fetch per key, and one batch of
look-ups and loads per chain at a time, however many pairs arrive together."""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
from conftest import ServiceProcess, deploy_unlisted_token

QUIET = {"state": {"shadow_rate": 0.0, "check_interval": 3600.0}}  # no RPC of their own
QUIET_ENV = {
    "PRICEFEED__STATE__SHADOW_RATE": "0.0",
    "PRICEFEED__STATE__CHECK_INTERVAL": "3600.0",
    "PRICEFEED__STATE__WARM_START": "false",
}
JSON = {"Content-Type": "application/json"}


async def test_a_hundred_concurrent_identical_first_requests_cause_one_upstream_quote(
    service, proxy
):
    recorder = proxy()
    recorder.faults.delay = (0.3, 0.3)  # keep the fetch in flight while the others arrive
    async with service([recorder.url], sections=QUIET) as client:
        feed = client.app.state.feed
        answers = await asyncio.gather(
            *(client.get("/price/devchain/WETH/USDC", params={"amount": "2"}) for _ in range(100))
        )

    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["amountOutRaw"] for a in answers}) == 1
    assert feed.fetcher.upstream_quotes == 1


async def test_a_hundred_new_pairs_at_once_cost_two_look_up_rounds_and_two_load_rounds(
    devchain, proxy, tmp_path
):
    tokens = [deploy_unlisted_token(devchain, f"Burst {i}", f"BU{i}") for i in range(10)]
    pairs = [(a, devchain.tokens["WETH"]) for a in tokens] + list(itertools.permutations(tokens, 2))
    recorder = proxy()
    recorder.faults.delay = (0.2, 0.2)
    config = tmp_path / "pricefeed.toml"
    toml = devchain.config_toml(block_time=1).replace(devchain.url, recorder.url)
    config.write_text("include_default_chains = false\n" + toml)
    server = ServiceProcess(config, tmp_path, **QUIET_ENV).start()
    try:
        learn = [{"chain": "devchain", "tokenIn": t, "tokenOut": t} for t in tokens]
        assert server.request("/price/devchain/WETH/USDC")[0] == 200  # the head is known
        server.request("/prices", "POST", json.dumps({"pairs": learn}).encode(), JSON)
        recorder.reset_counts()

        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.get(f"/price/devchain/{a}/{b}", params={"amount": "3"}) for a, b in pairs)
            )
    finally:
        server.stop()

    assert len(pairs) == 100
    assert [a.status_code for a in answers] == [200] * 100
    assert {a.json()["cache"] for a in answers} == {"miss"}
    # the factories' look-ups, then the pools' reads: one multicall each, for the first
    # request's batch and for everything that arrived while it was out
    assert recorder.methods["eth_call"] <= 4, recorder.methods
