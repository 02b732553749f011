"""Every malformed input gets a clear 4xx, never a 500: lengths, character sets, ranges."""

from __future__ import annotations

import pytest
from conftest import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    ("path", "status", "code", "says"),
    [
        ("/price/devchain/WETH/USDC?amount=" + "1" * 4301, 422, "bad_amount", "too long"),
        ("/price/devchain/WETH/USDC?amount=" + "1" * 200, 422, "bad_amount", "too long"),
        ("/price/devchain/USDC/WETH?amount=%C2%B3", 422, "bad_amount", "plain decimal"),
        ("/price/%C2%B3/WETH/USDC", 404, "unknown_chain", "no chain"),
        ("/price/" + "9" * 5000 + "/WETH/USDC", 404, "unknown_chain", "at most 64 characters"),
        ("/price/" + "9" * 30 + "/WETH/USDC", 404, "unknown_chain", "no chain"),
        ("/price/devchain/" + "A" * 5000 + "/USDC", 404, "unknown_token", "at most 64"),
        ("/price/devchain/WETH/%00%01%7F", 404, "unknown_token", "no token"),
        ("/static/x%00", 404, "not_found", ""),
        ("/static/vendor/x%00.js", 404, "not_found", ""),
    ],
)
async def test_a_malformed_request_is_a_clear_client_error(service, path, status, code, says):
    async with service() as client:
        answer = await client.get(path)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert says in answer.json()["error"]["message"]
    assert len(answer.text) < 2000  # the error does not echo a huge input back


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        (b'{"ttl": 10, "staleLimit": 60, "size": 100000000000000000000000}', "size", "at most"),
        (b'{"ttl": 10, "staleLimit": 60, "size": 1e23}', "size", ""),
        (b'{"ttl": 10, "staleLimit": 60, "size": ' + b"1" * 5000 + b"}", "size", ""),
        (b'{"ttl": 1e300, "staleLimit": 1e301}', "ttl", "at most"),
        (b'{"ttl": 10, "staleLimit": 60, "refresh": 1e23}', "refresh", "at most"),
    ],
)
async def test_out_of_range_admin_numbers_are_refused(service, form, field, says):
    async with service() as client:
        before = client.app.state.feed.ranking.tiers[2]
        answer = await client.put(
            "/admin/tiers/2",
            content=form,
            headers=AUTH | {"Content-Type": "application/json"},
        )

        assert 400 <= answer.status_code < 500, answer.text
        assert client.app.state.feed.ranking.tiers[2] == before  # nothing lost, nothing half-saved
    if answer.status_code == 422:
        assert f"{field}: " in answer.json()["error"]["message"]
        assert says in answer.json()["error"]["message"]


@pytest.mark.parametrize("number", ["9" * 40, "1" * 5000, "99999999999999999999"])
async def test_a_huge_tier_number_in_the_path_is_a_client_error(service, number):
    async with service() as client:
        answer = await client.put(f"/admin/tiers/{number}", json={"ttl": 1, "staleLimit": 2})

    assert 400 <= answer.status_code < 500, answer.text


async def test_a_batch_item_with_a_huge_amount_fails_alone(service):
    items = [
        {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "1" * 4301},
        {"chainName": "³", "tokenIn": "WETH", "tokenOut": "USDC"},
        {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "1"},
    ]
    async with service() as client:
        answer = await client.post("/prices", json={"pairs": items})

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r.get("error", {}).get("code") for r in results] == [
        "bad_amount",
        "unknown_chain",
        None,
    ]
    assert results[2]["amountOutRaw"].isdigit()
