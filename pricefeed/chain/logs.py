"""Pool state moved along the chain by its logs: V2 `Sync`, V3 `Swap`, `Mint` and `Burn`,
applied exactly as the pools apply them, fetched with one `eth_getLogs` for any number of pools."""

from __future__ import annotations

from collections import deque

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from pricefeed.chain.pool_states import PoolStates
from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.rpc.endpoint import LogRangeTooLarge
from pricefeed.chain.v3.liquidity_math import add_delta
from pricefeed.chain.v3.pool import V3Pool

SYNC = "0x" + keccak(text="Sync(uint112,uint112)").hex()
SWAP = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()
MINT = "0x" + keccak(text="Mint(address,address,int24,int24,uint128,uint256,uint256)").hex()
BURN = "0x" + keccak(text="Burn(address,int24,int24,uint128,uint256,uint256)").hex()
TOPICS = [SYNC, SWAP, MINT, BURN]


async def follow(states: PoolStates, rpc: RpcPool, to_block: int, max_blocks: int = 1000) -> int:
    """Apply every log of the held pools after the states' block up to `to_block`, and move
    the states to it; returns how many logs were applied."""
    start = int(states.block, 16) + 1
    logs = await fetch_logs(rpc, states.addresses(), start, to_block, max_blocks)
    apply_logs(states, logs)
    states.block = hex(max(to_block, start - 1))
    return len(logs)


async def fetch_logs(
    rpc: RpcPool, addresses: list[str], start: int, end: int, max_blocks: int
) -> list[dict]:
    """The pools' logs in blocks start..end: one eth_getLogs when the provider allows it,
    else halves of the range until it does."""
    if end < start or not addresses:
        return []
    spans = deque((lo, min(lo + max_blocks - 1, end)) for lo in range(start, end + 1, max_blocks))
    logs: list[dict] = []
    while spans:
        lo, hi = spans.popleft()
        query = {"fromBlock": hex(lo), "toBlock": hex(hi), "address": addresses}
        try:
            logs += await rpc.request("eth_getLogs", [{**query, "topics": [TOPICS]}])
        except LogRangeTooLarge:
            if lo == hi:
                raise
            mid = (lo + hi) // 2
            spans.extendleft([(mid + 1, hi), (lo, mid)])
    return logs


def apply_logs(states: PoolStates, logs: list[dict]) -> None:
    logs.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
    for log in logs:
        apply_log(states, log)
        states.changed.add(to_checksum_address(log["address"]))


def apply_log(states: PoolStates, log: dict) -> None:
    address = to_checksum_address(log["address"])
    topics = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log["topics"]]
    data = bytes.fromhex(log["data"].removeprefix("0x"))
    kind = topics[0]
    if kind == SYNC and address in states.reserves:
        states.reserves[address] = decode(["uint112", "uint112"], data)
    elif address in states.v3:
        pool = states.v3[address]
        if kind == SWAP:
            _, _, pool.sqrt_price_x96, pool.liquidity, pool.tick = decode(
                ["int256", "int256", "uint160", "uint128", "int24"], data
            )
        elif kind in (MINT, BURN):
            pool.positions_changed += 1
            lower, upper = (_int24(t) for t in topics[2:4])
            if kind == MINT:
                _, amount, _, _ = decode(["address", "uint128", "uint256", "uint256"], data)
            else:
                amount, _, _ = decode(["uint128", "uint256", "uint256"], data)
            modify_position(pool, lower, upper, amount if kind == MINT else -amount)


def modify_position(pool: V3Pool, lower: int, upper: int, delta: int) -> None:
    """UniswapV3Pool._modifyPosition's effect on what a swap reads: both ticks' gross and net
    liquidity (a tick whose gross becomes or stops being zero flips its bitmap bit), and the
    active liquidity when the range holds the current tick. Ticks in words not held are left
    to be read when they are needed."""
    if delta == 0:
        return
    for tick, net in ((lower, delta), (upper, -delta)):
        word = (tick // pool.tick_spacing) >> 8
        if word not in pool.bitmap:
            continue
        before = pool.liquidity_gross.get(tick, 0)
        after = add_delta(before, delta)
        if (before == 0) != (after == 0):
            pool.bitmap[word] ^= 1 << ((tick // pool.tick_spacing) % 256)
        pool.liquidity_gross[tick] = after
        pool.liquidity_net[tick] = pool.liquidity_net.get(tick, 0) + net
        if after == 0:
            pool.liquidity_gross.pop(tick)
            pool.liquidity_net.pop(tick)
    if lower <= pool.tick < upper:
        pool.liquidity = add_delta(pool.liquidity, delta)


def _int24(topic: str) -> int:
    return decode(["int24"], bytes.fromhex(topic.removeprefix("0x")))[0]
