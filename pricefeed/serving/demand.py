"""Who asks for what: popularity and request counts, kept in memory and flushed in batches.

Popularity is a request count that halves every `half_life` seconds. Demand is "rising" when
the request rate over the last half minute runs at more than twice the rate over five minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cachetools import LRUCache

from pricefeed.model import PairKey, QuoteKey
from pricefeed.serving.tiers import decayed
from pricefeed.store import Demand

SHORT, LONG = 30.0, 300.0  # seconds: time constants of the two request-rate averages
RISING_RATIO = 2.0
RISING_MIN_RATE = 0.1  # requests per second, so a lone request is not a trend


@dataclass
class PairDemand:
    symbols: tuple[str, str]
    score: float = 0.0
    score_at: float = 0.0
    rate_short: float = 0.0
    rate_long: float = 0.0
    rate_at: float = 0.0
    hits: int = 0
    stale: int = 0
    misses: int = 0
    amounts: dict[int, float] = field(default_factory=dict)
    dirty: bool = False


class _Tracked(LRUCache):
    """Pairs, least recently asked forgotten first; one evicted before its counts were flushed
    waits in `evicted` for the next drain, so no request goes uncounted."""

    def __init__(self, maxsize: int):
        super().__init__(maxsize)
        self.evicted: dict[PairKey, PairDemand] = {}

    def popitem(self):
        key, pair = super().popitem()
        if pair.dirty:
            self.evicted[key] = pair
        return key, pair


class DemandTracker:
    def __init__(self, half_life: float, size: int = 20_000, amounts_per_pair: int = 8):
        self.half_life = half_life
        self.amounts_per_pair = amounts_per_pair
        self.pairs: _Tracked = _Tracked(size)

    def load(self, key: PairKey, symbols: tuple[str, str], score: float, score_at: float) -> None:
        """Popularity as the store last had it, so it survives restarts."""
        self.pairs[key] = PairDemand(symbols, score=score, score_at=score_at)

    def note(self, key: QuoteKey, symbols: tuple[str, str], status: str, now: float) -> None:
        pair = self.pairs.get(key.pair)
        if pair is None:
            pair = self.pairs[key.pair] = PairDemand(symbols)
        pair.score = decayed(pair.score, pair.score_at, now, self.half_life) + 1.0
        pair.score_at = now
        elapsed = now - pair.rate_at if pair.rate_at else 0.0
        pair.rate_short = pair.rate_short * math.exp(-elapsed / SHORT) + 1.0 / SHORT
        pair.rate_long = pair.rate_long * math.exp(-elapsed / LONG) + 1.0 / LONG
        pair.rate_at = now
        if status == "hit":
            pair.hits += 1
        elif status == "stale":
            pair.stale += 1
        else:
            pair.misses += 1
        pair.amounts[key.amount] = now
        if len(pair.amounts) > self.amounts_per_pair:  # only the latest are kept refreshed
            del pair.amounts[min(pair.amounts, key=pair.amounts.__getitem__)]
        pair.dirty = True

    def score(self, key: PairKey, now: float) -> float:
        pair = self.pairs.get(key)
        return decayed(pair.score, pair.score_at, now, self.half_life) if pair else 0.0

    def rising(self, now: float) -> list[PairKey]:
        out = []
        for key, pair in self.pairs.items():
            elapsed = now - pair.rate_at
            short = pair.rate_short * math.exp(-elapsed / SHORT)
            long = pair.rate_long * math.exp(-elapsed / LONG)
            if short >= RISING_MIN_RATE and short > RISING_RATIO * long:
                out.append(key)
        return out

    def drain(self) -> list[Demand]:
        """What changed since the last drain, for the store; counters restart at zero."""
        out = []
        evicted, self.pairs.evicted = self.pairs.evicted, {}
        for key, pair in [*evicted.items(), *self.pairs.items()]:
            if not pair.dirty:
                continue
            out.append(
                Demand(
                    key,
                    pair.symbols,
                    pair.score,
                    pair.score_at,
                    pair.hits,
                    pair.stale,
                    pair.misses,
                    dict(pair.amounts),
                )
            )
            pair.hits = pair.stale = pair.misses = 0
            pair.amounts.clear()
            pair.dirty = False
        return out
