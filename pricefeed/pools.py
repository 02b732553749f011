"""Which pools exist, learned from factory look-ups and remembered.

A found pool never goes away, so it is kept for good; a missing one may be created later,
so that answer is asked again after `miss_ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from pricefeed.dexes import Pool, PoolLookup, Venue
from pricefeed.multicall import Call

RunCalls = Callable[[list[Call]], Awaitable[list[tuple[bool, bytes]]]]


def sort_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


class PoolBook:
    def __init__(self, venues: list[Venue], miss_ttl: float = 600.0):
        self.venues = venues
        self.miss_ttl = miss_ttl
        self._known: dict[tuple[str, str, str, int | None], tuple[Pool | None, float]] = {}

    def pools(self, a: str, b: str) -> list[Pool]:
        t0, t1 = sort_pair(a, b)
        return [
            pool
            for (venue, x, y, _), (pool, _) in self._known.items()
            if pool is not None and (x, y) == (t0, t1)
        ]

    async def learn(self, pairs: Iterable[tuple[str, str]], run_calls: RunCalls) -> None:
        """Look up, in one batch, every pool of these pairs not known (or missing for long)."""
        now = time.monotonic()
        wanted: list[PoolLookup] = []
        for a, b in {sort_pair(a, b) for a, b in pairs if a != b}:
            for venue in self.venues:
                for lookup in venue.pool_lookups(a, b):
                    pool, checked = self._known.get(_key(lookup), (None, -1e18))
                    if pool is None and now - checked >= self.miss_ttl:
                        wanted.append(lookup)
        if not wanted:
            return
        results = await run_calls([lookup.call for lookup in wanted])
        by_name = {v.name: v for v in self.venues}
        for lookup, (ok, data) in zip(wanted, results, strict=True):
            pool = None
            if ok:
                try:
                    pool = by_name[lookup.venue].pool_from_lookup(lookup, data)
                except Exception:  # not a factory, or an odd one: no pool
                    pool = None
            self._known[_key(lookup)] = (pool, now)


def _key(lookup: PoolLookup) -> tuple[str, str, str, int | None]:
    return (lookup.venue, lookup.token0, lookup.token1, lookup.fee)
