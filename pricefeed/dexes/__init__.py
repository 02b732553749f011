"""DEX adapters by config kind."""

from pricefeed.config import UniswapV2Dex, UniswapV3Dex
from pricefeed.dexes.base import Hop, Pool, PoolLookup, Venue
from pricefeed.dexes.uniswap_v2 import UniswapV2
from pricefeed.dexes.uniswap_v3 import UniswapV3

ADAPTERS = {UniswapV2Dex: UniswapV2, UniswapV3Dex: UniswapV3}


def make_venue(settings: UniswapV2Dex | UniswapV3Dex) -> Venue:
    return ADAPTERS[type(settings)](settings)


__all__ = ["Hop", "Pool", "PoolLookup", "Venue", "make_venue"]
