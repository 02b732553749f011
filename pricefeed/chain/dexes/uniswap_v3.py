"""Uniswap V3: pools from getPool per fee tier, prices from QuoterV2 at the pinned block."""

from __future__ import annotations

from eth_utils import to_bytes, to_checksum_address

from pricefeed.chain.dexes.base import Hop, Pool, PoolLookup, Venue
from pricefeed.chain.multicall import Fn
from pricefeed.config import UniswapV3Dex

GET_POOL = Fn("getPool(address,address,uint24)", ["address"], gas=8_000)
QUOTE_SINGLE = Fn(
    "quoteExactInputSingle((address,address,uint256,uint24,uint160))",
    ["uint256", "uint160", "uint32", "uint256"],
    gas=250_000,
)
QUOTE_PATH = Fn(
    "quoteExactInput(bytes,uint256)", ["uint256", "uint160[]", "uint32[]", "uint256"], gas=250_000
)


class UniswapV3(Venue):
    kind = "uniswap_v3"

    def __init__(self, settings: UniswapV3Dex):
        super().__init__(settings.name)
        self.factory = settings.factory
        self.quoter = settings.quoter
        self.fees = settings.fees

    def pool_lookups(self, token0: str, token1: str) -> list[PoolLookup]:
        return [
            PoolLookup(
                self.name, token0, token1, fee, GET_POOL.call(self.factory, token0, token1, fee)
            )
            for fee in self.fees
        ]

    def lookup_keys(self) -> list[tuple[str, int | None]]:
        return [(self.name, fee) for fee in self.fees]

    def pool_from_lookup(self, lookup: PoolLookup, data: bytes) -> Pool | None:
        (address,) = GET_POOL.decode(data)
        if int(address, 16) == 0:
            return None
        return Pool(
            self.name, to_checksum_address(address), lookup.token0, lookup.token1, lookup.fee
        )

    def quote_call(self, hops: list[Hop], amount_in: int):
        if len(hops) == 1:
            h = hops[0]
            return QUOTE_SINGLE.call(
                self.quoter, (h.token_in, h.token_out, amount_in, h.pool.fee, 0)
            )
        path = to_bytes(hexstr=hops[0].token_in)
        for h in hops:
            path += h.pool.fee.to_bytes(3, "big") + to_bytes(hexstr=h.token_out)
        return QUOTE_PATH.call(self.quoter, path, amount_in, gas=QUOTE_PATH.gas * len(hops))

    def decode_quote(self, data: bytes) -> int:
        return QUOTE_SINGLE.decode(data)[0] if len(data) == 128 else QUOTE_PATH.decode(data)[0]
