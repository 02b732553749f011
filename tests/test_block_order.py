"""A pair is never served an older block than before, whichever endpoint answers."""

from __future__ import annotations

from conftest import LONG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricefeed.devchain.node import rpc


@settings(
    max_examples=6 if not LONG else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(st.sampled_from(["mine", "down", "up", "ask", "ask"]), min_size=6, max_size=16)
)
async def test_a_pair_is_never_served_an_older_block_than_before(service, proxy, anvil, steps):
    good, lagging = proxy(), proxy()
    lagging.faults.lag = 4
    for _ in range(6):
        rpc(anvil.url, "evm_mine")
    async with service(
        [good.url, lagging.url], retries=2, deadline=3, breaker_cooldown=0.2
    ) as client:
        served = [(await client.get("/price/devchain/WETH/USDC")).json()["blockNumber"]]
        for step in steps:
            if step == "mine":
                rpc(anvil.url, "evm_mine")
            elif step in ("down", "up"):
                good.faults.status = 500 if step == "down" else None
            else:
                answer = await client.get("/price/devchain/WETH/USDC", params={"max_age": "0"})
                assert answer.status_code == 200, answer.text
                served.append(answer.json()["blockNumber"])
    assert served == sorted(served), served
