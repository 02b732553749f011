"""Pool-state figures on a fresh devchain behind a slow RPC: what a new pair costs to load (one
reader call against three multicalls), what a quote from held state costs, the memory of a
pool's state, and what following costs per block.

Starts anvil with the devchain and a proxy adding `latency` seconds to every RPC request; both
are stopped at the end.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from itertools import permutations
from pathlib import Path

from pricefeed.bench.harness import config_for
from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.follower import Follower
from pricefeed.chain.state import ChainState
from pricefeed.chain.v3.pool import V3Pool
from pricefeed.config import load_settings
from pricefeed.devchain.deploy import POOLS, deploy, fund
from pricefeed.devchain.market import Market
from pricefeed.devchain.node import Anvil
from pricefeed.devchain.rpcproxy import RpcProxy

TRADED = sorted({s for p in POOLS for s in (p.a, p.b)})


def run(latency: tuple[float, float], quotes: int, blocks: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Anvil() as anvil, RpcProxy(anvil.url) as proxy:
        d = deploy(anvil.url)
        config = Path(tmp) / "pricefeed.toml"
        config.write_text(config_for(d, proxy.url))
        settings = load_settings(config, env={})
        proxy.faults.delay = latency
        figures: dict = {"rpcLatencySeconds": list(latency)}
        for reader in (True, False):
            figures["newPairs" + ("Reader" if reader else "Multicalls")] = asyncio.run(
                _new_pairs(settings, proxy, reader)
            )
        proxy.faults.delay = (0.0, 0.0)
        figures.update(asyncio.run(_held(settings, quotes)))
        figures["follow"] = asyncio.run(_follow(settings, proxy, d, blocks))
    return figures


async def _new_pairs(settings, proxy: RpcProxy, reader: bool) -> dict:
    """Every devchain pair asked for at once, on a cold engine: time and round trips."""
    engine = QuoteEngine(settings)
    try:
        chain = engine.chains.get("devchain")
        state = engine.state(chain)
        if not reader:
            state.states.run_code = None
        # small amounts: a swap past a pool's depth reads further tick words (more round trips)
        requests = [(await engine.request("devchain", a, b, "0.01"))[1] for a, b in _pairs()]
        proxy.reset_counts()
        started = time.perf_counter()
        await state.quote_many(requests)
        return {
            "pairs": len(requests),
            "seconds": round(time.perf_counter() - started, 2),
            "roundTrips": proxy.round_trips(),
            "httpRequests": proxy.http_requests,
            "poolsLoaded": len(state.states.pools),
        }
    finally:
        await engine.close()


async def _held(settings, quotes: int) -> dict:
    """µs per quote from held state, route search included, random amounts over every pair;
    and the memory of the pools' states."""
    engine = QuoteEngine(settings)
    try:
        chain = engine.chains.get("devchain")
        state = engine.state(chain)
        rng = random.Random(1)
        requests = [(await engine.request("devchain", a, b, "1"))[1] for a, b in _pairs()]
        await state.quote_many(requests)
        await state.quote_many(  # tick words the larger swaps reach are loaded once
            [type(r)(r.token_in, r.token_out, r.amount_in * 1000) for r in requests]
        )
        took = []
        for _ in range(quotes):
            r = rng.choice(requests)
            amount = rng.randint(1, r.amount_in * 100)
            started = time.perf_counter()
            await state.quote_many([type(r)(r.token_in, r.token_out, amount)])
            took.append((time.perf_counter() - started) * 1e6)
        took.sort()
        v3 = [deep_size(p) for p in state.states.v3.values()]
        v2 = [deep_size(r) for r in state.states.reserves.values()]
        return {
            "quoteMicros": {
                "p50": round(statistics.median(took)),
                "p99": round(took[int(len(took) * 0.99)]),
                "quotes": quotes,
            },
            "bytesPerPool": {
                "v2": max(v2),
                "v3Median": round(statistics.median(v3)),
                "v3Max": max(v3),
                "ticksPerV3Pool": round(
                    statistics.median(len(p.liquidity_net) for p in state.states.v3.values())
                ),
            },
        }
    finally:
        await engine.close()


async def _follow(settings, proxy: RpcProxy, d, blocks: int) -> dict:
    """Requests per block while following every devchain pool through a moving market."""
    engine = QuoteEngine(settings)
    try:
        state: ChainState = engine.state(engine.chains.get("devchain"))
        requests = [(await engine.request("devchain", a, b, "1"))[1] for a, b in _pairs()]
        await state.quote_many(requests)
        follower = Follower(state)
        await follower.step()
        market = Market(d, seed=5)
        fund(market.w3, d, market.trader)
        first = state.head.number
        proxy.reset_counts()
        for _ in range(blocks):
            market.swap()
            await follower.step()
        made = state.head.number - first
        return {
            "pools": len(state.states.pools),
            "blocks": made,
            "httpRequests": proxy.http_requests,
            "perBlock": round(proxy.http_requests / max(made, 1), 2),
            "logsApplied": follower.logs,
        }
    finally:
        await engine.close()


def _pairs() -> list[tuple[str, str]]:
    return [p for p in permutations(TRADED, 2) if set(p) != {"DAI", "UNI"}]


def deep_size(obj, seen: set[int] | None = None) -> int:
    """Bytes of an object and everything it holds (sys.getsizeof, followed through)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, tuple | list):
        size += sum(deep_size(x, seen) for x in obj)
    elif isinstance(obj, V3Pool):
        size += sum(deep_size(v, seen) for v in vars(obj).values())
    return size
