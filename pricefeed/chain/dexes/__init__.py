"""DEX adapters by config kind."""

from pricefeed.chain.dexes.base import Hop, Pool, PoolLookup, Venue
from pricefeed.chain.dexes.uniswap_v2 import UniswapV2
from pricefeed.chain.dexes.uniswap_v3 import UniswapV3
from pricefeed.config import UniswapV2Dex, UniswapV3Dex

ADAPTERS = {UniswapV2Dex: UniswapV2, UniswapV3Dex: UniswapV3}


def make_venue(settings: UniswapV2Dex | UniswapV3Dex) -> Venue:
    return ADAPTERS[type(settings)](settings)


__all__ = ["Hop", "Pool", "PoolLookup", "Venue", "make_venue"]
