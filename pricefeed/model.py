"""Value types every layer shares."""

from __future__ import annotations

from typing import NamedTuple


class PairKey(NamedTuple):
    """A directed pair on a chain: the key of its tier, demand and stored rows."""

    chain: str
    token_in: str  # address
    token_out: str  # address


class QuoteKey(NamedTuple):
    """A pair and a raw amount in: the key of a quote."""

    chain: str
    token_in: str
    token_out: str
    amount: int  # raw units of token_in

    @property
    def pair(self) -> PairKey:
        return PairKey(self.chain, self.token_in, self.token_out)
