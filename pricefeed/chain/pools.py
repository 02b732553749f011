"""Which pools exist, learned from factory look-ups and remembered.

A found pool never goes away, so it is kept while its pair is in use; a missing one may be
created later, so that answer is asked again after `miss_ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from cachetools import LRUCache

from pricefeed.chain.dexes import Pool, PoolLookup, Venue
from pricefeed.chain.multicall import Call

RunCalls = Callable[[list[Call]], Awaitable[list[tuple[bool, bytes]]]]
Entry = tuple[Pool | None, float]  # the pool (None: none there), and when that was learned
Found = dict[tuple[str, str], list[Pool]]  # the pools of sorted token pairs, as one round knew


def sort_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


class PoolBook:
    """Pools by sorted token pair: a quote's look-up is one dict access, and the pairs least
    recently used are forgotten past `size` (asked again if wanted again)."""

    def __init__(self, venues: list[Venue], miss_ttl: float = 600.0, size: int = 50_000):
        self.venues = venues
        self.miss_ttl = miss_ttl
        # (token0, token1) -> {(venue, fee): (pool or None, checked at)}
        self._pairs: LRUCache[tuple[str, str], dict[tuple[str, int | None], Entry]] = LRUCache(size)

    def __len__(self) -> int:
        return len(self._pairs)

    def pools(self, a: str, b: str, found: Found | None = None) -> list[Pool]:
        """The pools of this pair: from `found` (a round's look-ups) where it has the pair."""
        pair = sort_pair(a, b)
        if found is not None and pair in found:
            return found[pair]
        known = self._pairs.get(pair, {})
        return [pool for pool, _ in known.values() if pool is not None]

    def add(self, pool: Pool) -> None:
        """A pool known from elsewhere (the store)."""
        pair = (pool.token0, pool.token1)
        known = self._pairs.get(pair)
        if known is None:
            known = self._pairs[pair] = {}
        known[(pool.venue, pool.fee)] = (pool, time.monotonic())

    def wanted(self, pairs: Iterable[tuple[str, str]]) -> list[PoolLookup]:
        """The look-ups of these pairs not made yet, or that found nothing long ago."""
        now = time.monotonic()
        wanted: list[PoolLookup] = []
        for a, b in {sort_pair(a, b) for a, b in pairs if a != b}:
            known = self._pairs.get((a, b), {})
            for venue in self.venues:
                due = set()
                for key in venue.lookup_keys():  # on every quote: no call is encoded here
                    pool, checked = known.get(key, (None, -1e18))
                    if pool is None and now - checked >= self.miss_ttl:
                        due.add(key)
                if due:
                    wanted += [x for x in venue.pool_lookups(a, b) if (x.venue, x.fee) in due]
        return wanted

    async def learn(self, pairs: Iterable[tuple[str, str]], run_calls: RunCalls) -> Found:
        """Look up, in one batch, every pool of these pairs not known (or missing for long).

        Returns the pools of every pair asked, as this round knows them: a batch is routed
        from that, so pairs the book lets go of while it learns (more pairs than its size)
        are still priced, not taken for pairs without a pool."""
        asked = {sort_pair(a, b) for a, b in pairs if a != b}
        known = {pair: dict(self._pairs.get(pair, {})) for pair in asked}
        wanted = self.wanted(asked)
        if wanted:
            now = time.monotonic()
            results = await run_calls([lookup.call for lookup in wanted])
            by_name = {v.name: v for v in self.venues}
            for lookup, (ok, data) in zip(wanted, results, strict=True):
                pool = None
                if ok:
                    try:
                        pool = by_name[lookup.venue].pool_from_lookup(lookup, data)
                    except Exception:  # not a factory, or an odd one: no pool
                        pool = None
                pair = (lookup.token0, lookup.token1)
                known[pair][(lookup.venue, lookup.fee)] = (pool, now)
                self._pairs[pair] = known[pair]
        return {
            pair: [pool for pool, _ in k.values() if pool is not None] for pair, k in known.items()
        }
