"""POST /prices: results in request order, errors in place, misses fetched together."""

from __future__ import annotations

GOOD = [
    {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "1"},
    {"chain": "31337", "tokenIn": "USDC", "tokenOut": "WBTC", "amount": "2500"},
    {"chainName": "DevChain", "tokenIn": "LINK", "tokenOut": "USDC"},
]


async def test_a_batch_mixing_good_and_bad_items_answers_each_in_order(service):
    pairs = [
        GOOD[0],
        {"chainName": "devchain", "tokenIn": "FOO", "tokenOut": "USDC"},
        {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "-2"},
        GOOD[1],
        {"chainName": "devchain", "tokenIn": "DAI", "tokenOut": "UNI"},
        {"chainName": "mars", "tokenIn": "WETH", "tokenOut": "USDC"},
        GOOD[2],
    ]
    async with service() as client:
        answer = await client.post("/prices", json={"pairs": pairs})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r.get("error", {}).get("code") for r in results] == [
        None,
        "unknown_token",
        "bad_amount",
        None,
        "no_route",
        "unknown_chain",
        None,
    ]
    assert [r.get("tokenIn", {}).get("symbol") for r in results] == [
        "WETH",
        None,
        None,
        "USDC",
        None,
        None,
        "LINK",
    ]
    assert results[1]["error"]["message"].startswith("no token 'FOO' on devchain")


async def test_a_batch_shares_its_pool_loads_then_any_amount_is_a_hit(service, proxy):
    recorder = proxy()
    async with service([recorder.url]) as client:
        await client.post("/prices", json={"pairs": [dict(p, amount="3") for p in GOOD]})
        recorder.reset_counts()  # the pools are held now
        answer = await client.post("/prices", json={"pairs": GOOD})
    assert [r["cache"] for r in answer.json()["results"]] == ["hit", "hit", "hit"]
    assert recorder.methods["eth_call"] == 0  # other amounts: computed from the held state


async def test_a_batch_over_the_limit_is_refused_with_the_limit(service):
    async with service() as client:
        answer = await client.post("/prices", json={"pairs": [GOOD[0]] * 101})
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "code": "batch_too_large",
        "message": "at most 100 pairs per request, got 101",
    }


async def test_a_malformed_batch_is_a_bad_request(service):
    async with service() as client:
        missing = await client.post("/prices", json={"pairs": [{"tokenIn": "WETH"}]})
        not_json = await client.post(
            "/prices", content=b"{", headers={"content-type": "application/json"}
        )
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "bad_request"
    assert "tokenOut" in missing.json()["error"]["message"]
    assert not_json.status_code == 400
