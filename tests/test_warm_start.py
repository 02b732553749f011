"""At start-up the pools of every pair of configured tokens are found and loaded, so such a
pair is answered from state from its very first request, with no call to the chain."""

from __future__ import annotations

import asyncio


async def test_configured_pairs_are_answered_from_state_from_their_first_request(
    service, proxy, devchain, oracle
):
    recorder = proxy()
    async with service([recorder.url], sections={"state": {"warm_start": True}}) as client:
        state = client.app.state.engine.state(client.app.state.engine.chains.get("devchain"))
        for _ in range(1200):  # a bound on a hang only: loading is counted, not timed
            if len(state.states.pools) == len(devchain.pools):
                break
            await asyncio.sleep(0.05)
        calls = recorder.methods["eth_call"]
        answer = (await client.get("/price/devchain/WBTC/DAI", params={"amount": "0.37"})).json()

    assert len(state.states.pools) == len(devchain.pools)  # every seeded pool, empty ones too
    assert calls <= 3  # look-ups, then reserves and V3 pools side by side
    assert recorder.methods["eth_call"] == calls  # the first request asked the chain nothing
    assert answer["cache"] == "hit"  # nothing had to be loaded for it
    raw = int(answer["amountInRaw"])
    assert int(answer["amountOutRaw"]) == oracle.best(
        "WBTC", "DAI", raw, answer["blockNumber"], v2_then_v3=True
    )
