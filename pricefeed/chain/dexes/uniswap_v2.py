"""Uniswap V2 and its forks: pools from getPair, prices from reserves with the V2 formula."""

from __future__ import annotations

from eth_utils import to_checksum_address

from pricefeed.chain.dexes.base import Hop, Pool, PoolLookup, Venue
from pricefeed.chain.multicall import Fn
from pricefeed.config import UniswapV2Dex

GET_PAIR = Fn("getPair(address,address)", ["address"], gas=8_000)
GET_RESERVES = Fn("getReserves()", ["uint112", "uint112", "uint32"], gas=8_000)
ZERO = "0x0000000000000000000000000000000000000000"


class UniswapV2(Venue):
    kind = "uniswap_v2"

    def __init__(self, settings: UniswapV2Dex):
        super().__init__(settings.name)
        self.factory = settings.factory
        self.router = settings.router  # for shadow checks (getAmountsOut)
        self.fee_bps = settings.fee_bps

    def pool_lookups(self, token0: str, token1: str) -> list[PoolLookup]:
        call = GET_PAIR.call(self.factory, token0, token1)
        return [PoolLookup(self.name, token0, token1, None, call)]

    def lookup_keys(self) -> list[tuple[str, int | None]]:
        return [(self.name, None)]

    def pool_from_lookup(self, lookup: PoolLookup, data: bytes) -> Pool | None:
        (address,) = GET_PAIR.decode(data)
        if int(address, 16) == 0:
            return None
        return Pool(self.name, to_checksum_address(address), lookup.token0, lookup.token1, None)

    def state_call(self, pool: Pool):
        return GET_RESERVES.call(pool.address)

    def out_from_state(self, hop: Hop, state: bytes, amount_in: int) -> int | None:
        """UniswapV2Library.getAmountOut, with the fee as configured for this fork."""
        reserve0, reserve1, _ = GET_RESERVES.decode(state)
        reserve_in, reserve_out = (
            (reserve0, reserve1) if hop.token_in == hop.pool.token0 else (reserve1, reserve0)
        )
        return amount_out(amount_in, reserve_in, reserve_out, self.fee_bps)


def amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int | None:
    """UniswapV2Library.getAmountOut with the fork's fee; None where the router reverts."""
    if amount_in <= 0 or reserve_in == 0 or reserve_out == 0:
        return None
    with_fee = amount_in * (10_000 - fee_bps)
    return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)
