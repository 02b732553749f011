"""The public API protects itself: per-client rate limits and a request size limit."""

from __future__ import annotations

import asyncio


async def test_a_client_over_its_rate_limit_gets_429_with_retry_after(service):
    async with service(server={"rate_limit": 5}) as client:
        answers = [await client.get("/price/devchain/WETH/USDC") for _ in range(7)]
        health = await client.get("/health/live")
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert health.status_code == 200  # only the quote routes are limited


async def test_by_default_one_app_server_may_burst_1000_requests_of_any_amount(service):
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        answers = await asyncio.gather(
            *(
                client.get("/price/devchain/WETH/USDC", params={"amount": str(n)})
                for n in range(1, 1001)
            )
        )
    assert {a.status_code for a in answers} == {200}


async def test_a_body_over_the_size_limit_gets_413(service):
    async with service(server={"max_body_bytes": 2048}) as client:
        big = {
            "pairs": [
                {"chain": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "1" * 40}
            ]
            * 40
        }
        answer = await client.post("/prices", json=big)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


async def test_many_amounts_of_a_new_pair_are_charged_to_the_client_as_one_load(service):
    stingy = {"client_rpc_share": 0.001}  # one chain read a minute for this client
    async with service(server=stingy) as client:
        batch = [
            {"chain": "devchain", "tokenIn": "WBTC", "tokenOut": "DAI", "amount": f"0.{n:03d}"}
            for n in range(1, 21)
        ]
        answer = await client.post("/prices", json={"pairs": batch})
    results = answer.json()["results"]
    assert [("error" in r) for r in results] == [False] * 20  # one load, not twenty
    assert {r["cache"] for r in results} == {"miss"}
