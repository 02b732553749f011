"""What the feed is asked, once resolved, and what it serves back."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from pricefeed.chain.chains import Chain
from pricefeed.model import Quote, QuoteKey, QuoteRequest
from pricefeed.serving.memo import Entry
from pricefeed.serving.tiers import Tier


class Asked(NamedTuple):
    """One request, resolved: its chain, its key and its tokens and raw amount."""

    chain: Chain
    key: QuoteKey
    request: QuoteRequest


def request_key(chain: str, request: QuoteRequest) -> QuoteKey:
    return QuoteKey(chain, request.token_in.address, request.token_out.address, request.amount_in)


class Served(msgspec.Struct, frozen=True):
    quote: Quote
    cache: str  # "hit", "stale" or "miss"
    age: float  # seconds since the quote was fetched
    tier: Tier
    max_age: float | None = None  # the max_age applied, when one was asked for
    max_age_clamped: bool = False  # ...raised to the floor
    behind: bool = False  # the chain's state was restored and has not caught up yet
    entry: Entry | None = None  # where the quote is held, and its encoded form with it

    @property
    def stale(self) -> bool:
        return self.behind or self.age > self.tier.ttl
