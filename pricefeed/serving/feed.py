"""The lookup ladder: the chain's held state, then memory and the store, then the chain.

pools held, state age <= TTL    -> computed from state (or the memo), "hit", no I/O at all
... age <= the tier's stale limit -> the same, "stale" (the follower is behind or cut off)
pools not held: L1 hit <= TTL   -> "hit"; within the stale limit "stale", a refresh queued
too stale, nothing, or max_age  -> fetched now (pools loaded, single-flight, batched), "miss"
that fetch fails                -> the last known value, marked by its age; else 503

The memo is the L1: a quote computed from state is kept under its key and reused while the
state is at the same block and was confirmed the head at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from cachetools import LRUCache, TTLCache

from pricefeed.chain.chains import Chain
from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.quoter import Quote, QuoteRequest
from pricefeed.config import CacheSettings
from pricefeed.errors import (
    LookupLimit,
    NoRoute,
    PricefeedError,
    RpcBudget,
    StoreUnavailable,
    UpstreamUnavailable,
)
from pricefeed.metrics import Metrics
from pricefeed.model import PairKey, QuoteKey
from pricefeed.serving.cache import LRU, Entry
from pricefeed.serving.demand import DemandTracker
from pricefeed.serving.fetcher import Fetcher
from pricefeed.serving.quotas import Lookups, Quotas
from pricefeed.serving.ranking import Ranking
from pricefeed.serving.tiers import (
    PRIORITY_ON_DEMAND,
    PRIORITY_PREWARM,
    Tier,
)
from pricefeed.store import Store

log = logging.getLogger(__name__)
NO_ROUTE_TTL = 60.0  # seconds a "no route" answer is remembered
PRUNE_EVERY = 600.0  # seconds between prunings of the store


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


class Feed:
    def __init__(
        self,
        engine: QuoteEngine,
        store: Store,
        settings: CacheSettings,
        metrics: Metrics,
        submit: Callable[[list[QuoteKey], int, float], object] | None = None,
        clock: Callable[[], float] = time.time,
        quotas: Quotas | None = None,
    ):
        self.engine = engine
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.submit = submit  # queues a refresh: (keys, priority, expires) -> awaitable
        self.clock = clock
        self.quotas = quotas  # per-client limits on look-ups and RPC work; None: none
        self.l1: LRU[QuoteKey, Entry] = LRU(settings.l1_size)
        self.demand = DemandTracker(
            settings.half_life, settings.demand_pairs, settings.amounts_per_pair
        )
        self.ranking = Ranking(engine, store, self.demand, settings, lambda: self.clock())
        self.fetcher = Fetcher(engine, self.remember)
        # bounded by input, not by time: LRUs, emptied further of what has expired at each flush
        self._no_route: TTLCache[QuoteKey, str] = TTLCache(
            settings.no_route_size, NO_ROUTE_TTL, timer=lambda: self.clock()
        )
        self._queued: LRUCache[QuoteKey, float] = LRUCache(settings.l1_size)  # asked for, until
        self._charged: TTLCache[tuple[str, str, str, str], bool] = TTLCache(
            settings.no_route_size, settings.fetch_deadline, timer=lambda: self.clock()
        )  # (client, chain, tokenIn, tokenOut) whose load was charged to the client
        self._background: set[asyncio.Task] = set()
        # quotes computed from state since the last flush: written then, in one transaction, so
        # the store has each asked amount's latest quote (and price history) off the hot path
        self._unsaved: dict[QuoteKey, Quote] = {}
        # held while a flush moves counts and quotes from memory to the store, where a reader
        # of both (the pairs list) would find them in neither
        self.flushing = asyncio.Lock()
        self._recorded: LRUCache[QuoteKey, float] = LRUCache(settings.l1_size)  # when

    async def start(self) -> None:
        """Load tiers, pairs and the most wanted quotes from the store: a warm restart."""
        await self.ranking.load()
        for stored in reversed(await self.store.recent_quotes(self.settings.l1_size)):
            self.l1.put(_key(stored.quote), Entry(stored.quote, stored.fetched_at))

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
        chain_, request = await self.engine.request(
            chain, token_in, token_out, amount, self._lookups(client)
        )
        wanted, clamped = self._max_age(chain_, max_age)
        served = await self.lookup(
            request_key(chain_.name, request), request, wanted, client, chain_
        )
        if wanted is None:
            return served
        return msgspec.structs.replace(served, max_age=wanted, max_age_clamped=clamped)

    async def _learn_tokens(
        self, items: list[tuple[str, str, str, str]], lookups: Lookups | None
    ) -> dict[str, UpstreamUnavailable]:
        """Read a batch's unknown token addresses together, one batch of calls per chain;
        returns the chains (as the items name them) whose endpoints could not answer."""
        refs: dict[str, list[str]] = {}
        for chain, token_in, token_out, _ in items:
            refs.setdefault(str(chain).strip().lower(), []).extend((token_in, token_out))
        unreachable = {}
        for name, tokens in refs.items():
            try:
                await self.engine.learn_tokens(self.engine.chains.get(name), tokens, lookups)
            except UpstreamUnavailable as e:
                unreachable[name] = e
            except PricefeedError:  # an unknown chain: its items say so one by one
                continue
        return unreachable

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

    async def _may_fetch(
        self, client: str | None, chain: Chain | None, request: QuoteRequest
    ) -> bool:
        """Whether the client is within its share of the chain's RPC budget for one fetch; a
        fetch computed from pools already held costs the chain nothing and is not charged."""
        if client is None or chain is None or self.quotas is None:
            return True
        if self.engine.state(chain).holds(request):
            return True
        # one charge per pair and client while its pools load: the amounts asked meanwhile go
        # in the same batch of look-ups and reads, and cost the chain nothing more
        charged = (client, chain.name, request.token_in.address, request.token_out.address)
        if charged in self._charged:
            return True
        if not await self.quotas.charge_rpc(client, chain.name, chain.settings.rpc.rate_limit):
            return False
        self._charged[charged] = True
        return True

    async def _over_budget(
        self, key: QuoteKey, request: QuoteRequest, entry: Entry | None, client: str, chain: Chain
    ) -> Served:
        """A client past its RPC share gets what the cache has, however old, or a 429."""
        if entry is not None:
            tier = self.tier(key.pair)
            now = self.clock()
            return self._served(key, request, entry, "stale", now - entry.fetched_at, tier, now)
        raise RpcBudget(
            f"this client has used its share of {chain.name}'s RPC budget; quotes it asks for "
            "that are not cached wait until the minute turns",
            await self.quotas.rpc_retry_after(client, chain.name, chain.settings.rpc.rate_limit),
        )

    async def serve_many(
        self, items: list[tuple[str, str, str, str]], client: str | None = None
    ) -> list[Served | PricefeedError]:
        """Many lookups at once. Every item is looked up in the cache first, and only then are
        the misses handed to the fetcher, together: one multicall per chain."""
        results: list[Served | PricefeedError | None] = [None] * len(items)
        wanted: dict[int, tuple[QuoteKey, QuoteRequest]] = {}
        chains: dict[int, Chain] = {}
        lookups = self._lookups(client)
        unreachable = await self._learn_tokens(items, lookups)
        for i, (chain, token_in, token_out, amount) in enumerate(items):
            try:
                chain_, request = await self.engine.request(
                    chain, token_in, token_out, amount, lookups
                )
                wanted[i] = (request_key(chain_.name, request), request)
                chains[i] = chain_
            except LookupLimit as e:  # the budget went on a batch look-up that failed?
                results[i] = unreachable.get(str(chain).strip().lower(), e)
            except PricefeedError as e:
                results[i] = e
        cached = await asyncio.gather(
            *(self._cached(key, request, None) for key, request in wanted.values()),
            return_exceptions=True,
        )
        misses = {}
        for i, found in zip(wanted, cached, strict=True):
            if isinstance(found, PricefeedError):
                results[i] = found
            elif found[0] is not None:
                results[i] = found[0]
            else:
                key, request = wanted[i]
                if await self._may_fetch(client, chains[i], request):
                    fetch = self.fetcher.fetch(key, request, self.tier(key.pair).ttl)
                    misses[i] = self._fetched(key, request, found[1], fetch)
                else:
                    try:
                        results[i] = await self._over_budget(
                            key,
                            request,
                            found[1],
                            client,
                            chains[i],
                        )
                    except PricefeedError as e:
                        results[i] = e
        fetched = await asyncio.gather(*misses.values(), return_exceptions=True)
        for i, outcome in zip(misses, fetched, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, PricefeedError):
                raise outcome
            results[i] = outcome
        return results  # type: ignore[return-value]

    async def lookup(
        self,
        key: QuoteKey,
        request: QuoteRequest,
        max_age: float | None = None,
        client: str | None = None,
        chain: Chain | None = None,
    ) -> Served:
        served, entry = await self._cached(key, request, max_age)
        if served is not None:
            return served
        if not await self._may_fetch(client, chain, request):
            return await self._over_budget(key, request, entry, client, chain)
        fresh_within = max_age if max_age is not None else self.tier(key.pair).ttl
        fetch = self.fetcher.fetch(key, request, fresh_within)
        return await self._fetched(key, request, entry, fetch)

    async def _cached(
        self, key: QuoteKey, request: QuoteRequest, max_age: float | None
    ) -> tuple[Served | None, Entry | None]:
        """The first rungs: served from memory or the store if fresh enough, else the entry."""
        held = self._held(key, request, max_age)
        if held is not None:
            return held, None
        tier = self.tier(key.pair)
        now = self.clock()
        entry = self.l1.get(key)
        if entry is None or now - entry.fetched_at > tier.ttl:
            entry = await self._newer_in_store(key, entry)  # another process may have refreshed it
        if entry is not None:
            age = now - entry.fetched_at
            fresh = age <= tier.ttl and not self.engine.behind(key.chain)
            if fresh and (max_age is None or age <= max_age):
                return self._served(key, request, entry, "hit", age, tier, now), entry
            if age <= tier.stale_limit and max_age is None:
                self.refresh_soon([key], PRIORITY_ON_DEMAND, tier.ttl)
                return self._served(key, request, entry, "stale", age, tier, now), entry
        known = self._no_route.get(key)
        if known is not None:
            raise NoRoute(known)
        return None, entry

    def _held(self, key: QuoteKey, request: QuoteRequest, max_age: float | None) -> Served | None:
        """The answer from the chain's held state, computed once per block, with no I/O; None
        when the pools are not held or the state is older than the caller (or the tier's
        stale limit) accepts: then the fetch catches the state up first."""
        state = self.engine.held(key.chain)
        if state is None or state.head is None:
            return None
        tier, now = self.tier(key.pair), self.clock()
        age = max(0.0, now - state.confirmed_at)
        if age > tier.stale_limit or (max_age is not None and age > max_age):
            return None
        entry = self.l1.get(key)
        if entry is not None and entry.quote.block_hash == state.head.hash:
            if entry.fetched_at != state.confirmed_at:  # the same block, seen the head again
                confirmed = datetime.fromtimestamp(state.confirmed_at, UTC)
                quote = msgspec.structs.replace(entry.quote, fetched_at=confirmed)
                entry = Entry(quote, state.confirmed_at)
                self.l1.put(key, entry)
                self._record(key, entry, tier)
        else:
            answer = state.quote_held(request)
            if answer is None:
                return None
            if isinstance(answer, PricefeedError):
                raise answer
            entry = Entry(answer, state.confirmed_at)
            self.l1.put(key, entry)
            self._record(key, entry, tier)
        cache = "hit" if age <= tier.ttl and state.caught_up else "stale"
        return self._served(key, request, entry, cache, age, tier, now)

    def _record(self, key: QuoteKey, entry: Entry, tier: Tier) -> None:
        """Keep a quote computed from state for the store's next flush: one per its tier's
        period of the state's own time (when it was seen at the head), as a refresh would;
        the store's count cap and pruning bound what this adds."""
        period = tier.refresh if tier.refresh is not None else tier.ttl
        if entry.fetched_at - self._recorded.get(key, -1e18) >= period:
            self._recorded[key] = entry.fetched_at
            self._unsaved[key] = entry.quote

    async def _fetched(
        self, key: QuoteKey, request: QuoteRequest, entry: Entry | None, future: asyncio.Future
    ) -> Served:
        """The last rungs: the chain's answer, else the last known value, else 503."""
        tier = self.tier(key.pair)
        now = self.clock()
        try:
            quote = await asyncio.wait_for(asyncio.shield(future), self.settings.fetch_deadline)
        except NoRoute as e:
            self._no_route[key] = e.message
            raise
        except (UpstreamUnavailable, TimeoutError) as e:
            if entry is None:
                why = e.message if isinstance(e, UpstreamUnavailable) else "no answer in time"
                raise UpstreamUnavailable(
                    f"nothing cached for this pair and the chain did not answer: {why}",
                    detail=str(e),
                ) from None
            self.metrics.emergency.inc()
            age = self.clock() - entry.fetched_at
            cache = "hit" if age <= tier.ttl else "stale"
            return self._served(key, request, entry, cache, age, tier, now)
        held = self.l1.peek(key)
        if held is not None and held.quote.block_number > quote.block_number:
            # a lagging endpoint answered: what we hold is newer, and a pair never goes back
            age = self.clock() - held.fetched_at
            return self._served(
                key, request, held, "hit" if age <= tier.ttl else "stale", age, tier, now
            )
        age = max(0.0, self.clock() - quote.fetched_at.timestamp())
        fresh = Entry(quote, quote.fetched_at.timestamp())
        # state the follower could not move on (the chain out of reach) is as old as it is
        late = age > tier.ttl or self.engine.behind(key.chain)
        return self._served(key, request, fresh, "stale" if late else "miss", age, tier, now)

    def _served(self, key, request, entry, cache, age, tier, now) -> Served:
        self.demand.note(key, (request.token_in.symbol, request.token_out.symbol), cache, now)
        self.metrics.served(tier.tier, cache, age)
        return Served(
            entry.quote, cache, age, tier, behind=self.engine.behind(key.chain), entry=entry
        )

    async def _newer_in_store(self, key: QuoteKey, entry: Entry | None) -> Entry | None:
        try:
            stored = await self.store.load_quote(key)
        except StoreUnavailable as e:  # memory still serves
            log.error("cache: %s", e)
            return entry
        if stored is not None and (entry is None or stored.fetched_at > entry.fetched_at):
            entry = Entry(stored.quote, stored.fetched_at)
            self.l1.put(key, entry)
        return entry

    async def remember(self, quotes: list[Quote]) -> None:
        """Fresh quotes: into the store, then into memory (which serves on if the store fails)."""
        try:
            await self.store.save_quotes(quotes)
        except StoreUnavailable as e:
            log.error("%d fresh quotes kept in memory only: %s", len(quotes), e)
        for q in quotes:
            key = _key(q)
            current = self.l1.peek(key)
            if current is None or current.quote.block_number <= q.block_number:
                self.l1.put(key, Entry(q, q.fetched_at.timestamp()))
            self._queued.pop(key, None)

    async def refresh(self, chain: str, keys: list[QuoteKey], fresh_within: float = 0.0) -> int:
        """Compute these quotes again (a refresh job), from state that was the head within
        `fresh_within` seconds (the job's period): while the follower keeps up that costs no
        RPC; where it cannot, the state is caught up first. Raises if the chain answered none
        of them."""
        futures = []
        for key in keys:
            try:
                _, request = await self.engine.request_raw(*key)
            except PricefeedError as e:  # the token is gone from the config: nothing to refresh
                log.info("refresh of %s skipped: %s", key, e)
                continue
            futures.append(self.fetcher.fetch(key, request, fresh_within, strict=True))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failures = [r for r in results if isinstance(r, UpstreamUnavailable | TimeoutError)]
        if results and len(failures) == len(results):
            raise failures[0]
        return len(results) - len(failures)

    def refresh_soon(self, keys: list[QuoteKey], priority: int, expires: float) -> None:
        """Queue a refresh of these keys unless one was queued for them already."""
        now = self.clock()
        wanted = [k for k in keys if self._queued.get(k, 0.0) < now]
        if not wanted or self.submit is None:
            return
        for k in wanted:
            self._queued[k] = now + expires
        self._spawn(self.submit(wanted, priority, expires))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    # background work of the serving process

    async def flush(self) -> None:
        """Write the quotes computed from state, popularity and request counts; forget stale
        bookkeeping."""
        async with self.flushing:
            unsaved, self._unsaved = self._unsaved, {}
            try:
                await self.store.save_quotes(list(unsaved.values()))
            except StoreUnavailable as e:  # computed from state again when asked: none lost
                log.error("%d quotes from state not written: %s", len(unsaved), e)
            await self.store.record_demand(self.demand.drain())
        now = self.clock()
        for key in [k for k, until in self._queued.items() if until <= now]:
            del self._queued[key]
        self._no_route.expire()
        self._charged.expire()

    async def prune(self) -> dict[str, int]:
        """Forget what nobody asks for any more, in the store (see `Store.prune`)."""
        s = self.settings
        return await self.store.prune(
            self.clock(),
            s.quote_retention,
            s.max_stored_quotes,
            s.history_retention,
            s.pair_retention,
        )

    def _prewarm(self, rising: set[PairKey], now: float) -> None:
        """Load again the pools of rising pairs that are no longer held (let go as least
        recently priced), before they are asked for again."""
        if not rising:
            return
        due, checked = [], {}  # routes are looked at once per pair, not once per amount
        for key in self.l1:
            if key.pair in rising and (entry := self.l1.peek(key)):
                if key.pair not in checked:
                    checked[key.pair] = not self.follows(key, entry.quote)
                if checked[key.pair]:
                    due.append(key)
        if due:
            self.refresh_soon(due, PRIORITY_PREWARM, self.tier(due[0].pair).ttl)

    def follows(self, key: QuoteKey, quote: Quote | None = None) -> bool:
        """Whether this key's pair is priced from held state (its pools followed every block),
        so nothing needs to refresh it."""
        state = self.engine.held(key.chain)
        if state is None:
            return False
        if quote is not None:
            tokens = quote.token_in, quote.token_out
        else:
            try:
                chain = state.quoter.chain
                tokens = chain.token(key.token_in), chain.token(key.token_out)
            except PricefeedError:
                return False
        return state.holds(QuoteRequest(*tokens, key.amount))

    async def prune_store(self) -> None:
        """The background job: prune, and say what went."""
        log.info("pruned from the store: %s", await self.prune())

    async def prewarm(self) -> None:
        """The background job: pre-warm the pairs rising now (see `_prewarm`)."""
        now = self.clock()
        self._prewarm(set(self.demand.rising(now)), now)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        try:
            await self.flush()
        except StoreUnavailable as e:  # shutting down: say what was not kept, and go on
            log.error("popularity not written at shutdown: %s", e)


def request_key(chain: str, request: QuoteRequest) -> QuoteKey:
    return QuoteKey(chain, request.token_in.address, request.token_out.address, request.amount_in)


def _key(q: Quote) -> QuoteKey:
    return QuoteKey(q.chain, q.token_in.address, q.token_out.address, q.amount_in_raw)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background refresh request failed: %s", task.exception())
