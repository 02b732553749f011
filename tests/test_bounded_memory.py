"""Memory does not grow with input: every map that input can fill is an LRU of a set size,
under thousands of distinct tokens, pairs and amounts."""

from __future__ import annotations

import itertools
import secrets

from conftest import deploy_unlisted_token
from web3 import Web3

from pricefeed.devchain.build import ensure_contracts

SIZES = {
    "l1_size": 300,
    "learned_tokens": 20,
    "pool_pairs": 15,
    "no_route_size": 20,
    "demand_pairs": 25,
    "amounts_per_pair": 4,
    "not_token_size": 500,
    "flush_interval": 3600.0,  # nothing drained during the test: the bounds alone hold
    "retier_interval": 3600.0,
}
OPEN = {"rate_limit": 0, "client_rpc_share": 1.0, "token_lookups_per_minute": 0}


def bare_tokens(devchain, n: int) -> list[str]:
    """`n` ERC-20s with no pool anywhere: each is learned, then has no route."""
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    art = ensure_contracts()["DevToken"]
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    hashes = [
        factory.constructor(f"Bare {i}", f"B{i}", 18).transact({"from": devchain.deployer})
        for i in range(n)
    ]
    return [w3.eth.wait_for_transaction_receipt(h).contractAddress for h in hashes]


async def post_all(client, pairs: list[dict]) -> set[tuple[str, str]]:
    """Posts every item in batches; returns the (tokenIn, tokenOut) pairs that got a quote."""
    quoted = set()
    for start in range(0, len(pairs), 100):
        batch = pairs[start : start + 100]
        answer = await client.post("/prices", json={"pairs": batch})
        assert answer.status_code == 200, answer.text
        for asked, result in zip(batch, answer.json()["results"], strict=True):
            if "error" not in result:
                quoted.add((asked["tokenIn"], asked["tokenOut"]))
    return quoted


def item(token_in: str, token_out: str, amount: str = "1") -> dict:
    return {"chain": "devchain", "tokenIn": token_in, "tokenOut": token_out, "amount": amount}


async def test_maps_stay_within_their_sizes_under_7000_distinct_inputs(service, devchain):
    pooled = [deploy_unlisted_token(devchain, f"Pooled {i}", f"P{i}") for i in range(15)]
    symbols = sorted(devchain.tokens) + pooled
    directed = [(a, b) for a, b in itertools.permutations(symbols, 2) if "WETH" in (a, b)]
    # 50 amounts of each pair in a row (more than a pair keeps), each one every token can hold
    # (4 decimals) and large enough to buy something in every pool
    runs = [pair for pair in directed for _ in range(50)]
    amounts = [item(a, b, f"1.{n:04d}") for n, (a, b) in enumerate(runs)]
    randoms = [item("0x" + secrets.token_hex(20), "USDC") for _ in range(5000)]
    bare = [item(address, "USDC") for address in bare_tokens(devchain, 40)]

    async with service(server=OPEN, cache=SIZES, sections={"state": {"max_pools": 12}}) as client:
        quoted = await post_all(client, amounts + randoms + bare)
        feed, engine = client.app.state.feed, client.app.state.engine
        chain = engine.chains.get("devchain")
        book = engine.quoter(chain).book
        sizes = {
            "l1": len(feed.memo.l1),
            "learned tokens": chain.learned(),
            "not tokens": len(engine._not_tokens),
            "pool pairs": len(book),
            "no route": len(feed._no_route),
            "demand pairs": len(feed.demand.pairs),
            "amounts per pair": max(len(p.amounts) for p in feed.demand.pairs.values()),
            "queued": len(feed.refreshes.queued),
            "held pools": len(engine.state(chain).states.pools),
        }

    assert len(quoted) > SIZES["demand_pairs"]  # enough pairs were served to fill the map
    assert sizes == {
        "l1": SIZES["l1_size"],  # full, not over
        "learned tokens": SIZES["learned_tokens"],
        "not tokens": SIZES["not_token_size"],
        "pool pairs": SIZES["pool_pairs"],
        "no route": SIZES["no_route_size"],
        "demand pairs": SIZES["demand_pairs"],
        "amounts per pair": SIZES["amounts_per_pair"],
        "queued": sizes["queued"],
        "held pools": 12,
    }
    assert sizes["queued"] <= SIZES["l1_size"]


async def test_a_batch_wider_than_the_maps_is_priced_as_with_room_to_spare(
    service, devchain, tmp_path
):
    """Bounds cost speed, never answers: a batch with more pairs than the pool book keeps and
    more pools than the state holds gets the very quotes a roomy service gives."""
    directed = list(itertools.permutations(sorted(devchain.tokens), 2))
    batch = [item(a, b, "1.25") for a, b in directed]

    async def amounts_out(**sizes) -> list[str]:
        async with service(server=OPEN, data=tmp_path / str(len(sizes)), **sizes) as client:
            answer = await client.post("/prices", json={"pairs": batch})
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            return [r.get("amountOutRaw") or r["error"]["code"] for r in results]

    (tmp_path / "0").mkdir()
    (tmp_path / "2").mkdir()
    roomy = await amounts_out()
    tight = await amounts_out(cache={"pool_pairs": 3}, sections={"state": {"max_pools": 2}})
    assert sum(isinstance(a, str) and a.isdigit() for a in roomy) > len(batch) // 2
    assert tight == roomy
