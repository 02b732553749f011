"""A provider with no eth_getLogs: held pools are read again at the head every
`state.reread_interval` instead, and quotes stay exact; the endpoint is not blamed for it."""

from __future__ import annotations

import asyncio

from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market

PRICE = "/price/devchain/WETH/USDC"


async def test_without_eth_getlogs_pools_are_read_again_and_quotes_stay_exact(
    service, proxy, devchain, oracle
):
    upstream = proxy()
    upstream.faults.no_logs = True
    market = Market(devchain, seed=11)
    fund(market.w3, devchain, market.trader)
    async with service([upstream.url], sections={"state": {"reread_interval": 0.5}}) as client:
        before = (await client.get(PRICE)).json()
        for _ in range(4):
            market.swap()
        for _ in range(100):  # the follower moves to the swaps' blocks by reading, not by logs
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
