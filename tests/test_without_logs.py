"""A provider with no eth_getLogs: held pools are read again at the head every
`state.reread_interval` instead, and quotes stay exact; the endpoint is not blamed for it."""

from __future__ import annotations

import asyncio

from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market

PRICE = "/price/devchain/WETH/USDC"


def without_logs(proxy, devchain, seed: int):
    """A proxy whose provider has no eth_getLogs, and a funded market to make blocks with."""
    upstream = proxy()
    upstream.faults.no_logs = True
    market = Market(devchain, seed=seed)
    fund(market.w3, devchain, market.trader)
    return upstream, market


async def test_without_eth_getlogs_pools_are_read_again_and_quotes_stay_exact(
    service, proxy, devchain, oracle
):
    upstream, market = without_logs(proxy, devchain, seed=11)
    async with service([upstream.url], sections={"state": {"reread_interval": 0.5}}) as client:
        before = (await client.get(PRICE)).json()
        for _ in range(4):
            market.swap()
        for _ in range(600):  # the follower moves to the swaps' blocks by reading, not by logs
            after = (await client.get(PRICE)).json()
            if after["blockNumber"] > before["blockNumber"] + 3:
                break
            await asyncio.sleep(0.1)
        follower = client.app.state.engine.followers()["devchain"]
        endpoint = client.app.state.engine.quoter(
            client.app.state.engine.chains.get("devchain")
        ).rpc.endpoints[0]
        state = (await client.get("/metrics")).json()["state"]["devchain"]

    assert after["blockNumber"] > before["blockNumber"] + 3
    raw = int(after["amountInRaw"])
    assert int(after["amountOutRaw"]) == oracle.best("WETH", "USDC", raw, after["blockNumber"])
    assert follower.without_logs and follower.rereads >= 1
    assert (state["withoutLogs"], state["reorgs"]) == (True, 0)
    assert upstream.methods["eth_getLogs"] == 1  # asked once: then pools are read instead
    assert endpoint.state == "closed" and endpoint.failures == 0


async def test_logs_are_asked_for_again_and_used_once_the_provider_has_them(
    service, proxy, devchain, oracle
):
    upstream, market = without_logs(proxy, devchain, seed=12)
    state = {"reread_interval": 0.5, "logs_retry": 1.0}
    async with service([upstream.url], sections={"state": state}) as client:
        await client.get(PRICE)
        follower = client.app.state.engine.followers()["devchain"]
        for _ in range(300):  # new blocks: logs are asked for, refused, pools read instead
            if follower.without_logs:
                break
            market.swap()
            await asyncio.sleep(0.2)
        refused = follower.without_logs
        upstream.faults.no_logs = False  # an upgraded node, or a failover
        for _ in range(300):
            if not follower.without_logs and follower.logs > 0:
                break
            market.swap()
            await asyncio.sleep(0.2)
        after = (await client.get(PRICE)).json()

    assert refused
    assert not follower.without_logs and follower.logs > 0  # following by logs again
    assert upstream.methods["eth_getLogs"] >= 2  # the refusal, then the retry that worked
    raw = int(after["amountInRaw"])
    assert int(after["amountOutRaw"]) == oracle.best("WETH", "USDC", raw, after["blockNumber"])
