"""An endpoint's rate limit is spent in order: the follower's rounds, then loads someone waits
for, then checks; and checks give way while the budget is full."""

from __future__ import annotations

import asyncio

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.rpc.budget import CHECK, FOLLOW, LOAD, PRIORITIES, Budget, spending
from pricefeed.config import RpcSettings
from pricefeed.model import QuoteRequest
from pricefeed.web import alerts


async def test_waiting_requests_go_in_order_of_priority_not_of_arrival():
    budget = Budget(rate=4)
    let_through: list[str] = []

    async def spend(priority: int) -> None:
        with spending(priority):
            await budget.spend()
        let_through.append(PRIORITIES[priority])

    for _ in range(4):  # the bucket of 4 is spent at once
        await budget.spend()
    waiting = [
        asyncio.ensure_future(spend(p)) for p in (CHECK, CHECK, LOAD, LOAD, FOLLOW, FOLLOW)
    ]  # the least urgent came first
    await asyncio.sleep(0)
    queued, busy = budget.waiting(), budget.busy()
    await asyncio.gather(*waiting)

    assert queued == {"follow": 2, "load": 2, "check": 2}
    assert busy
    assert let_through == ["follow", "follow", "load", "load", "check", "check"]
    assert budget.spent == {"load": 6, "follow": 2, "check": 2}
    assert budget.full_seconds > 1.0  # six waited, at four a second
    assert not budget.busy() or budget.full_for() == 0.0


async def test_an_endpoint_spends_its_budget_per_request(proxy):
    pool = RpcPool("devchain", [proxy().url], RpcSettings(rate_limit=4))
    with spending(FOLLOW):
        await pool.request("eth_blockNumber", [])
    await pool.request("eth_blockNumber", [])
    await pool.close()
    assert pool.endpoints[0].budget.spent == {"follow": 1, "load": 1}


async def test_shadow_checks_give_way_while_the_budget_is_spent(settings):
    engine = QuoteEngine(settings)
    quote = await engine.quote("devchain", "WETH", "USDC", "1", from_state=True)
    shadow = engine.state(engine.chains.get("devchain")).shadow
    shadow.rate, shadow.chance = 1.0, lambda: 0.0  # every quote would be checked
    request = QuoteRequest(quote.token_in, quote.token_out, quote.amount_in_raw)
    budget = engine.quoter(engine.chains.get("devchain")).rpc.endpoints[0].budget
    while not budget.busy():
        await budget.spend()  # what other work would have spent

    shadow.consider([(request, quote)])

    assert shadow.skipped == 1
    assert not shadow._running
    await engine.close()


async def test_the_budget_and_what_waits_for_it_are_shown_and_a_long_wait_raises_an_alert(
    service, proxy, monkeypatch
):
    monkeypatch.setattr(alerts, "BUDGET_FULL_FOR", 0.05)  # seconds, not ten
    async with service([proxy().url], rate_limit=2) as client:
        await client.get("/price/devchain/WETH/USDC")
        budget = (
            client.app.state.engine.quoter(client.app.state.engine.chains.get("devchain"))
            .rpc.endpoints[0]
            .budget
        )
        while not budget.busy():
            await budget.spend()
        # 50 s of waiting at 2/s: however long a busy box takes to ask, most still wait
        waiters = [asyncio.ensure_future(budget.spend()) for _ in range(100)]
        await asyncio.sleep(0.1)
        metrics = (await client.get("/metrics")).json()
        prometheus = (await client.get("/metrics/prometheus")).text
        for w in waiters:
            w.cancel()

    shown = metrics["rpc"]["devchain"]["endpoints"][0]["budget"]
    assert shown["ratePerSecond"] == 2
    assert shown["waiting"]["load"] >= 20
    assert shown["spent"]["load"] > 0
    assert shown["fullForSeconds"] >= 0.1
    assert "rpc_budget_full" in {a["name"] for a in metrics["alerts"]}
    assert 'pricefeed_rpc_budget_waiting{chain="devchain",' in prometheus
    assert "pricefeed_rpc_budget_spent_total" in prometheus
