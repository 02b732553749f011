"""The lookup ladder: the chain's held state, then memory and the store, then the chain.

pools held, state age <= TTL    -> computed from state (or the memo), "hit", no I/O at all
... age <= the tier's stale limit -> the same, "stale" (the follower is behind or cut off)
pools not held: L1 hit <= TTL   -> "hit"; within the stale limit "stale", a refresh queued
too stale, nothing, or max_age  -> fetched now (pools loaded, single-flight, batched), "miss"
that fetch fails                -> the last known value, marked by its age; else 503

The memo is the L1: a quote computed from state is kept under its key and reused while the
state is at the same block and was confirmed the head at the same time.

The module is a little over 300 lines because the rungs are one algorithm, read top to bottom;
what is not a rung lives beside it (memo, refresh, fetcher, quotas, answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine

import msgspec
from cachetools import TTLCache

from pricefeed.chain.chains import Chain
from pricefeed.chain.engine import QuoteEngine
from pricefeed.config import CacheSettings
from pricefeed.errors import (
    LookupLimit,
    NoRoute,
    PricefeedError,
    StoreUnavailable,
    UpstreamUnavailable,
)
from pricefeed.metrics import Metrics
from pricefeed.model import PairKey, Quote, QuoteKey
from pricefeed.serving.answers import Asked, Served, request_key
from pricefeed.serving.demand import DemandTracker
from pricefeed.serving.fetcher import Fetcher
from pricefeed.serving.memo import Entry, Memo, quote_key
from pricefeed.serving.quotas import FetchCharges, Lookups, Quotas
from pricefeed.serving.ranking import Ranking
from pricefeed.serving.refresh import Refreshes, Submit
from pricefeed.serving.tiers import PRIORITY_ON_DEMAND, Tier
from pricefeed.store import Store

log = logging.getLogger(__name__)
NO_ROUTE_TTL = 60.0  # seconds a "no route" answer is remembered


class Feed:
    """The lookup ladder (see above) over the memo, the fetcher and the refreshes."""

    def __init__(
        self,
        engine: QuoteEngine,
        store: Store,
        settings: CacheSettings,
        metrics: Metrics,
        submit: Submit | None = None,
        clock: Callable[[], float] = time.time,
        quotas: Quotas | None = None,
    ):
        self.engine = engine
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.quotas = quotas  # per-client limits on look-ups and RPC work; None: none
        self.memo = Memo(store, settings, lambda: self.clock())
        self.demand = DemandTracker(
            settings.half_life, settings.demand_pairs, settings.amounts_per_pair
        )
        self.ranking = Ranking(engine, store, self.demand, settings, lambda: self.clock())
        self.fetcher = Fetcher(self.remember)
        self.refreshes = Refreshes(
            engine, self.fetcher, self.memo, self.demand, self.tier, submit, lambda: self.clock()
        )
        self.charges = (
            FetchCharges(
                quotas, settings.no_route_size, settings.fetch_deadline, lambda: self.clock()
            )
            if quotas is not None
            else None
        )
        # bounded by input, not by time: an LRU, emptied further of what has expired at a flush
        self._no_route: TTLCache[QuoteKey, str] = TTLCache(
            settings.no_route_size, NO_ROUTE_TTL, timer=lambda: self.clock()
        )
        # held while a flush moves counts and quotes from memory to the store, where a reader
        # of both (the pairs list) would find them in neither
        self.flushing = asyncio.Lock()

    async def start(self) -> None:
        """Load tiers, pairs and the most wanted quotes from the store: a warm restart."""
        await self.ranking.load()
        await self.memo.load()

    def tier(self, pair: PairKey) -> Tier:
        return self.ranking.tier(pair)

    async def serve(
        self,
        chain: str,
        token_in: str,
        token_out: str,
        amount: str = "1",
        max_age: float | None = None,
        client: str | None = None,
    ) -> Served:
        """One lookup for `client` (None: not limited per client, as for operators)."""
        asked = await self._asked(chain, token_in, token_out, amount, self._lookups(client))
        wanted, clamped = self._max_age(asked.chain, max_age)
        served = await self.lookup(asked, wanted, client)
        if wanted is None:
            return served
        return msgspec.structs.replace(served, max_age=wanted, max_age_clamped=clamped)

    async def serve_many(
        self, items: list[tuple[str, str, str, str]], client: str | None = None
    ) -> list[Served | PricefeedError]:
        """Many lookups at once. Every item is looked up in the cache first, and only then are
        the misses handed to the fetcher, together: one multicall per chain."""
        results: list[Served | PricefeedError | None] = [None] * len(items)
        wanted = await self._asked_many(items, client, results)
        cached = await asyncio.gather(
            *(self._cached(a, None) for a in wanted.values()),
            return_exceptions=True,
        )
        misses = {}
        for (i, asked), found in zip(wanted.items(), cached, strict=True):
            if isinstance(found, PricefeedError):
                results[i] = found
            elif found[0] is not None:
                results[i] = found[0]
            elif await self._may_fetch(client, asked):  # fetches start now, to go together
                misses[i] = self._fetch(asked, found[1], self.tier(asked.key.pair).ttl)
            else:
                misses[i] = self._over_budget(asked, found[1], client)
        fetched = await asyncio.gather(*misses.values(), return_exceptions=True)
        for i, outcome in zip(misses, fetched, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, PricefeedError):
                raise outcome
            results[i] = outcome
        return results  # type: ignore[return-value]

    async def _asked(
        self, chain: str, token_in: str, token_out: str, amount: str, lookups: Lookups | None
    ) -> Asked:
        """The request resolved once: its chain, key and tokens."""
        chain_, request = await self.engine.request(chain, token_in, token_out, amount, lookups)
        return Asked(chain_, request_key(chain_.name, request), request)

    async def _asked_many(
        self, items: list[tuple[str, str, str, str]], client: str | None, results: list
    ) -> dict[int, Asked]:
        """A batch's items resolved, by index; an item that cannot be gets its error in
        `results`. Unknown token addresses are read together first."""
        lookups = self._lookups(client)
        unreachable = await self.engine.learn_batch_tokens(items, lookups)
        wanted = {}
        for i, (chain, token_in, token_out, amount) in enumerate(items):
            try:
                wanted[i] = await self._asked(chain, token_in, token_out, amount, lookups)
            except LookupLimit as e:  # the budget went on a batch look-up that failed?
                results[i] = unreachable.get(str(chain).strip().lower(), e)
            except PricefeedError as e:
                results[i] = e
        return wanted

    def _lookups(self, client: str | None) -> Lookups | None:
        if client is None or self.quotas is None:
            return None
        return Lookups(self.quotas, client, self.quotas.settings.token_lookups_per_request)

    def _max_age(self, chain: Chain, max_age: float | None) -> tuple[float | None, bool]:
        """max_age raised to the floor (a block, by default): below it every request would be a
        chain read, and nothing newer than the block exists anyway."""
        if max_age is None:
            return None, False
        floor = self.settings.max_age_floor or chain.settings.block_time
        return (floor, True) if max_age < floor else (max_age, False)

    async def _may_fetch(self, client: str | None, asked: Asked) -> bool:
        """Whether the client is within its share of the chain's RPC budget for one fetch; a
        fetch computed from pools already held costs the chain nothing and is not charged."""
        if client is None or self.charges is None:
            return True
        if self.engine.state(asked.chain).holds(asked.request):
            return True
        return await self.charges.allow(client, asked.chain, asked.request)

    async def _over_budget(self, asked: Asked, entry: Entry | None, client: str) -> Served:
        """A client past its RPC share gets what the cache has, however old, or a 429."""
        if entry is None:
            raise await self.charges.refusal(client, asked.chain)
        tier, now = self.tier(asked.key.pair), self.clock()
        return self._served(asked, entry, "stale", now - entry.fetched_at, tier, now)

    async def lookup(
        self, asked: Asked, max_age: float | None = None, client: str | None = None
    ) -> Served:
        served, entry = await self._cached(asked, max_age)
        if served is not None:
            return served
        if not await self._may_fetch(client, asked):
            return await self._over_budget(asked, entry, client)
        fresh_within = max_age if max_age is not None else self.tier(asked.key.pair).ttl
        return await self._fetch(asked, entry, fresh_within)

    def _fetch(
        self, asked: Asked, entry: Entry | None, fresh_within: float
    ) -> Coroutine[None, None, Served]:
        """Start the fetch now (so the fetches of one batch go together); await the answer."""
        state = self.engine.state(asked.chain)
        future = self.fetcher.fetch(state, asked.key, asked.request, fresh_within)
        return self._fetched(asked, entry, future)

    async def _cached(
        self, asked: Asked, max_age: float | None
    ) -> tuple[Served | None, Entry | None]:
        """The first rungs: served from memory or the store if fresh enough, else the entry."""
        held = self._held(asked, max_age)
        if held is not None:
            return held, None
        key, tier, now = asked.key, self.tier(asked.key.pair), self.clock()
        entry = self.memo.l1.get(key)
        if entry is None or now - entry.fetched_at > tier.ttl:
            # another process may have refreshed it
            entry = await self.memo.newer_in_store(key, entry)
        if entry is not None:
            age = now - entry.fetched_at
            fresh = age <= tier.ttl and not self.engine.behind(key.chain)
            if fresh and (max_age is None or age <= max_age):
                return self._served(asked, entry, "hit", age, tier, now), entry
            if age <= tier.stale_limit and max_age is None:
                self.refreshes.soon([key], PRIORITY_ON_DEMAND, tier.ttl)
                return self._served(asked, entry, "stale", age, tier, now), entry
        known = self._no_route.get(key)
        if known is not None:
            raise NoRoute(known)
        return None, entry

    def _held(self, asked: Asked, max_age: float | None) -> Served | None:
        """The answer from the chain's held state, computed once per block, with no I/O; None
        when the pools are not held or the state is older than the caller (or the tier's
        stale limit) accepts: then the fetch catches the state up first."""
        state = self.engine.held(asked.key.chain)
        if state is None or state.head is None:
            return None
        tier, now = self.tier(asked.key.pair), self.clock()
        age = max(0.0, now - state.confirmed_at)
        if age > tier.stale_limit or (max_age is not None and age > max_age):
            return None
        entry = self.memo.at_head(asked.key, asked.request, state, tier)
        if entry is None:
            return None
        cache = "hit" if age <= tier.ttl and state.caught_up else "stale"
        return self._served(asked, entry, cache, age, tier, now)

    async def _fetched(self, asked: Asked, entry: Entry | None, future: asyncio.Future) -> Served:
        """The last rungs: the chain's answer, else the last known value, else 503."""
        tier = self.tier(asked.key.pair)
        try:
            quote = await asyncio.wait_for(asyncio.shield(future), self.settings.fetch_deadline)
        except NoRoute as e:
            self._no_route[asked.key] = e.message
            raise
        except (UpstreamUnavailable, TimeoutError) as e:
            if entry is None:
                why = e.message if isinstance(e, UpstreamUnavailable) else "no answer in time"
                raise UpstreamUnavailable(
                    f"nothing cached for this pair and the chain did not answer: {why}",
                    detail=str(e),
                ) from None
            self.metrics.emergency.inc()
            return self._by_age(asked, entry, tier)
        held = self.memo.l1.peek(asked.key)
        if held is not None and held.quote.block_number > quote.block_number:
            # a lagging endpoint answered: what we hold is newer, and a pair never goes back
            return self._by_age(asked, held, tier)
        now = self.clock()
        age = max(0.0, now - quote.fetched_at.timestamp())
        # state the follower could not move on (the chain out of reach) is as old as it is
        late = age > tier.ttl or self.engine.behind(asked.key.chain)
        fresh = Entry(quote, quote.fetched_at.timestamp())
        return self._served(asked, fresh, "stale" if late else "miss", age, tier, now)

    def _by_age(self, asked: Asked, entry: Entry, tier: Tier) -> Served:
        """What is held, a "hit" or "stale" by its age alone."""
        now = self.clock()
        age = now - entry.fetched_at
        return self._served(asked, entry, "hit" if age <= tier.ttl else "stale", age, tier, now)

    def _served(
        self, asked: Asked, entry: Entry, cache: str, age: float, tier: Tier, now: float
    ) -> Served:
        symbols = asked.request.token_in.symbol, asked.request.token_out.symbol
        self.demand.note(asked.key, symbols, cache, now)
        self.metrics.served(tier.tier, cache, age)
        behind = self.engine.behind(asked.key.chain)
        return Served(entry.quote, cache, age, tier, behind=behind, entry=entry)

    async def remember(self, quotes: list[Quote]) -> None:
        """Fresh quotes from the fetcher: into the memo, and their refreshes are done."""
        await self.memo.remember(quotes)
        self.refreshes.done([quote_key(q) for q in quotes])

    # background work of the serving process

    async def flush(self) -> None:
        """Write the quotes computed from state, popularity and request counts; forget stale
        bookkeeping."""
        async with self.flushing:
            await self.memo.flush()
            await self.store.record_demand(self.demand.drain())
        self.refreshes.expire()
        self._no_route.expire()
        if self.charges is not None:
            self.charges.charged.expire()

    async def close(self) -> None:
        await self.refreshes.close()
        try:
            await self.flush()
        except StoreUnavailable as e:  # shutting down: say what was not kept, and go on
            log.error("popularity not written at shutdown: %s", e)
