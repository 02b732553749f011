"""The shape every DEX adapter has. The quoter knows nothing of a venue beyond this.

A venue finds pools with factory look-ups, and prices a hop in one of two ways: from
amount-independent pool state read in the batch (`state_call` + `out_from_state`, exact
off-chain math), or with its own on-chain quoter (`quote_call`), which may cover several
hops when they are all on this venue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from pricefeed.chain.multicall import Call


@dataclass(frozen=True)
class Pool:
    venue: str
    address: str
    token0: str  # the lower address, as the factories sort them
    token1: str
    fee: int | None  # per-pool fee tier (V3); None where the venue has one fee


@dataclass(frozen=True)
class Hop:
    pool: Pool
    token_in: str
    token_out: str


@dataclass(frozen=True)
class PoolLookup:
    """A factory call whose answer is the pool for (token0, token1, fee), or nothing."""

    venue: str
    token0: str
    token1: str
    fee: int | None
    call: Call


class Venue(ABC):
    kind: str

    def __init__(self, name: str):
        self.name = name

    @abstractmethod
    def pool_lookups(self, token0: str, token1: str) -> list[PoolLookup]: ...

    @abstractmethod
    def pool_from_lookup(self, lookup: PoolLookup, data: bytes) -> Pool | None: ...

    @abstractmethod
    def lookup_keys(self) -> list[tuple[str, int | None]]:
        """(venue, fee) of each pool a token pair can have here, as `pool_lookups` names them."""

    def state_call(self, pool: Pool) -> Call | None:
        """A call reading what `out_from_state` needs; None if this venue cannot price off-chain."""
        return None

    def out_from_state(self, hop: Hop, state: bytes, amount_in: int) -> int | None:
        return None

    def quote_call(self, hops: list[Hop], amount_in: int) -> Call | None:
        """An on-chain quote for `hops` (all on this venue); None if the venue has no quoter."""
        return None

    def decode_quote(self, data: bytes) -> int:
        raise NotImplementedError

    @property
    def prices_off_chain(self) -> bool:
        return type(self).out_from_state is not Venue.out_from_state
