"""The public API protects itself: per-client rate limits and a request size limit."""

from __future__ import annotations


async def test_a_client_over_its_rate_limit_gets_429_with_retry_after(service):
    async with service(server={"rate_limit": 5}) as client:
        answers = [await client.get("/price/devchain/WETH/USDC") for _ in range(7)]
        health = await client.get("/health/live")
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert health.status_code == 200  # only the quote routes are limited


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
