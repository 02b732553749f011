"""A V3 pool's state at one block, read with the pool's own public getters, and swaps priced
from it that load the tick bitmap words they reach.

A pool is read in one round trip by our PoolReader, run as an eth_call with no target (its
constructor reads and returns; nothing is deployed). Where a node will not run it, three
dependent multicalls read the same: price and tick, the words around the tick, their ticks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from eth_abi import decode, encode

from pricefeed.chain.multicall import Call, Fn
from pricefeed.chain.v3.pool import V3Pool, swap_exact_input
from pricefeed.chain.v3.tick_bitmap import Bitmap, WordNotLoaded

SLOT0 = Fn("slot0()", ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"])
LIQUIDITY = Fn("liquidity()", ["uint128"])
FEE = Fn("fee()", ["uint24"])
TICK_SPACING = Fn("tickSpacing()", ["int24"])
TICK_BITMAP = Fn("tickBitmap(int16)", ["uint256"], gas=5_000)
TICKS = Fn(
    "ticks(int24)",
    ["uint128", "int128", "uint256", "uint256", "int56", "uint160", "uint32", "bool"],
    gas=20_000,
)
WORDS_EACH_SIDE = 2  # bitmap words loaded on each side of the current tick's word

RunAt = Callable[[list[Call], str], Awaitable[list[tuple[bool, bytes]]]]
RunCode = Callable[[bytes, str], Awaitable[bytes]]  # init code run at a block -> its output
READER = bytes.fromhex(
    json.loads(Path(__file__).with_name("pool_reader.json").read_text())["bytecode"][2:]
)
READER_GAS_PER_POOL = 1_000_000  # a busy pool's words and ticks, widened words, read cold


async def read_v3_pools_at_once(
    addresses: list[str], run_code: RunCode, block: str, gas_limit: int
) -> dict[str, V3Pool]:
    """The same as `read_v3_pools`, in one round trip: one reader call per `gas_limit`'s
    worth of pools, all sent at once."""
    per_call = max(1, gas_limit // READER_GAS_PER_POOL)
    chunks = [addresses[i : i + per_call] for i in range(0, len(addresses), per_call)]
    outputs = await asyncio.gather(
        *(
            run_code(READER + encode(["address[]", "int16"], [c, WORDS_EACH_SIDE]), block)
            for c in chunks
        )
    )
    pools: dict[str, V3Pool] = {}
    for chunk, output in zip(chunks, outputs, strict=True):
        (each,) = decode(["bytes[]"], output)
        for address, data in zip(chunk, each, strict=True):
            if data:
                pools[address] = _from_reader(data)
    return pools


def _from_reader(data: bytes) -> V3Pool:
    head, body = decode(["bytes", "bytes"], data)
    sqrt_price, tick, liquidity, fee, spacing = decode(
        ["uint160", "int24", "uint128", "uint24", "int24"], head
    )
    low, high, words, bitmaps, ticks, gross, net = decode(
        ["int256", "int256", "int16[]", "uint256[]", "int24[]", "uint128[]", "int128[]"], body
    )
    return V3Pool(
        sqrt_price,
        tick,
        liquidity,
        fee,
        spacing,
        bitmap=Bitmap(zip(words, bitmaps, strict=True), zero=range(low, high + 1)),
        liquidity_net=dict(zip(ticks, net, strict=True)),
        liquidity_gross=dict(zip(ticks, gross, strict=True)),
    )


async def read_v3_pool(address: str, run_at: RunAt, block: str) -> V3Pool:
    return (await read_v3_pools([address], run_at, block))[address]


async def read_v3_pools(addresses: list[str], run_at: RunAt, block: str) -> dict[str, V3Pool]:
    """Price, tick, liquidity, fee and spacing of each pool, then the bitmap words around each
    tick, then the ticks they mark: three multicalls in all, at `block`. A pool whose getters
    fail (not a V3 pool) is left out."""
    getters = (SLOT0, LIQUIDITY, FEE, TICK_SPACING)
    answers = await run_at([f.call(a) for a in addresses for f in getters], block)
    pools: dict[str, V3Pool] = {}
    for i, address in enumerate(addresses):
        mine = answers[i * len(getters) : (i + 1) * len(getters)]
        if not all(ok and data for ok, data in mine):  # no code there (yet): no pool
            continue
        (sqrt_price, tick, *_), (liquidity,), (fee,), (spacing,) = (
            f.decode(data) for f, (_, data) in zip(getters, mine, strict=True)
        )
        pools[address] = V3Pool(sqrt_price, tick, liquidity, fee, spacing)
    words = {}
    for address, pool in pools.items():
        word = (pool.tick // pool.tick_spacing) >> 8
        words[address] = range(word - WORDS_EACH_SIDE, word + WORDS_EACH_SIDE + 1)
    await load_words_of(pools, words, run_at, block)
    return pools


async def load_words(pool: V3Pool, address: str, words, run_at: RunAt, block: str) -> None:
    await load_words_of({address: pool}, {address: words}, run_at, block)


async def load_words_of(
    pools: dict[str, V3Pool], words: dict[str, Iterable[int]], run_at: RunAt, block: str
) -> None:
    """Add these bitmap words of these pools, and the liquidity of every tick they mark, to
    their states: two multicalls for all of them."""
    wanted = [
        (address, w)
        for address, ws in words.items()
        for w in ws
        if w not in pools[address].bitmap and -(2**15) <= w < 2**15
    ]
    if not wanted:
        return
    answers = await run_at([TICK_BITMAP.call(a, w) for a, w in wanted], block)
    ticks = []
    for (address, word), (_, data) in zip(wanted, answers, strict=True):
        pool = pools[address]
        (bits,) = TICK_BITMAP.decode(data)
        pool.bitmap[word] = bits
        spacing = pool.tick_spacing
        ticks += [(address, ((word << 8) + b) * spacing) for b in range(256) if bits >> b & 1]
    if ticks:
        answers = await run_at([TICKS.call(a, t) for a, t in ticks], block)
        for (address, tick), (_, data) in zip(ticks, answers, strict=True):
            gross, net, *_ = TICKS.decode(data)
            pools[address].liquidity_gross[tick] = gross
            pools[address].liquidity_net[tick] = net


async def quote_exact_input(
    pool: V3Pool, address: str, zero_for_one: bool, amount_in: int, run_at: RunAt, block: str
) -> tuple[int, int]:
    """(amount out, round trips spent loading words): never a guess past the words held.
    Each load reaches four times further than the last, so even a swap across an empty
    pool's whole range (hundreds of words) costs a handful of round trips."""
    loads, ahead = 0, 4
    while True:
        try:
            return swap_exact_input(pool, zero_for_one, amount_in)[1], loads
        except WordNotLoaded as e:
            step = -1 if zero_for_one else 1  # the way the swap moves on
            await load_words(
                pool, address, [e.word + step * i for i in range(ahead)], run_at, block
            )
            loads, ahead = loads + 1, ahead * 4
