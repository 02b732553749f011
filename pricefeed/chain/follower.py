"""Keeping pool state current from the chain's logs: V2 `Sync`, V3 `Swap`, `Mint` and `Burn`,
applied exactly as the pools apply them, with one `eth_getLogs` for any number of pools."""

from __future__ import annotations

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from pricefeed.chain.state_quoter import PoolStates
from pricefeed.chain.v3math import V3Pool, add_delta
from pricefeed.rpc import RpcPool

SYNC = "0x" + keccak(text="Sync(uint112,uint112)").hex()
SWAP = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()
MINT = "0x" + keccak(text="Mint(address,address,int24,int24,uint128,uint256,uint256)").hex()
BURN = "0x" + keccak(text="Burn(address,int24,int24,uint128,uint256,uint256)").hex()


async def follow(states: PoolStates, rpc: RpcPool, to_block: int) -> int:
    """Apply every log of the held pools after the states' block up to `to_block`, and move
    the states to it; returns how many logs were applied."""
    held = [*states.reserves, *states.v3]
    start = int(states.block, 16) + 1
    if to_block < start or not held:
        states.block = hex(max(to_block, start - 1))
        return 0
    logs = await rpc.request(
        "eth_getLogs",
        [
            {
                "fromBlock": hex(start),
                "toBlock": hex(to_block),
                "address": held,
                "topics": [[SYNC, SWAP, MINT, BURN]],
            }
        ],
    )
    logs.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
    for log in logs:
        apply_log(states, log)
    states.block = hex(to_block)
    return len(logs)


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


class Follower:
    """Follows held pools block by block: one head read, then one `eth_getLogs` for every pool,
    whatever their number. (Reorg checks against the parent hash come next.)"""

    def __init__(self, states: PoolStates, rpc: RpcPool):
        self.states = states
        self.rpc = rpc
        self.head_hash = ""  # of the block the states are at, for the reorg check to come

    async def step(self) -> int:
        """Catch up with the head; returns the logs applied."""
        head = await self.rpc.request("eth_getBlockByNumber", ["latest", False])
        number = int(head["number"], 16)
        if number <= int(self.states.block, 16):
            return 0
        applied = await follow(self.states, self.rpc, number)
        self.head_hash = head["hash"]
        return applied
