"""A chain's pool state, held in memory at one block: loaded when a pair is first asked for,
kept at the head by the follower, and priced from off-chain with the contracts' own math.

Every quote of every pair is computed from the same block's state: every direct pool and
every two-hop route through a hub, on any venue each hop (V2 then V3 included).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from itertools import combinations
from typing import TYPE_CHECKING

from pricefeed.chain.dexes import Hop, Pool
from pricefeed.chain.pool_states import Best, PoolStates, Reserves, v2_fees
from pricefeed.chain.pools import Found, sort_pair
from pricefeed.chain.quoter import Quoter
from pricefeed.chain.rpc import Block
from pricefeed.chain.v3.pool import V3Pool
from pricefeed.chain.v3.tick_bitmap import WordNotLoaded
from pricefeed.errors import PricefeedError, UpstreamUnavailable
from pricefeed.model import Quote, QuoteRequest

if TYPE_CHECKING:
    from pricefeed.chain.shadow import Shadow

log = logging.getLogger(__name__)
Restored = tuple[Block, float, dict[Pool, "V3Pool | Reserves | None"]]  # head, confirmed, pools


class ChainState:
    """One chain's held pool state, priced from at the block it is at.

    `confirmed_at` is when that block was last seen to be the chain's head: the quotes carry
    it as their `fetched_at`, so an answer from state the follower could not move on is as old
    as the state is, and the cache calls it stale.
    """

    def __init__(
        self, quoter: Quoter, clock: Callable[[], float] = time.time, max_pools: int = 20_000
    ):
        self.quoter = quoter
        self.clock = clock
        self.max_pools = max_pools  # held at most; the least recently priced go first...
        self.kept: frozenset[str] = frozenset()  # ...beside these: the top tiers' pools
        self.states = PoolStates(
            quoter.call_at,
            "latest",
            v2_fees(quoter),
            quoter.run_code,
            quoter.chain.settings.multicall_gas_limit,
        )
        self.head: Block | None = None  # the block the states are at
        self.confirmed_at = 0.0
        self.caught_up = True  # False from a restore until the head is seen again
        self.loads = 0  # rounds of loading new pools
        self.on_quotes: Callable[[list[tuple[QuoteRequest, Quote]]], None] | None = None
        self.shadow: Shadow | None = None  # set by whoever wires the shadow check in
        self.catch_up: Callable[[], Awaitable[object]] | None = None  # the follower's step
        self._learning: asyncio.Task | None = None

    @property
    def name(self) -> str:
        return self.quoter.chain.name

    def move_to(self, head: Block) -> None:
        """The states are now at `head`, which is the chain's head (the caller holds the lock)."""
        self.head = head
        self.states.block = hex(head.number)
        self.confirmed_at = self.clock()
        self.caught_up = True

    async def quote_many(
        self,
        requests: list[QuoteRequest],
        fresh_within: float | None = None,
        strict: bool = False,
    ) -> list[Quote | PricefeedError]:
        """Quotes in request order, from state; pools not held yet are found and loaded first,
        together for all the requests. State that was last the head longer than
        `fresh_within` seconds ago is caught up first, if the chain answers; `strict` insists
        (a refresh): the chain's error is raised rather than an answer from older state."""
        if fresh_within is not None:
            await self._catch_up_if_older(fresh_within, strict)
        head = None
        if self.head is None:  # the first pair: the head and the look-ups in one round trip
            head, found = await asyncio.gather(self._latest(), self._learn(requests))
        else:
            found = await self._learn(requests)
        q = self.quoter
        routes = [q.routes(r.token_in.address, r.token_out.address, found) for r in requests]
        answers = await self._answer(requests, routes, head)
        if len(self.states.pools) > self.max_pools:
            async with self.states.lock:
                self.states.evict(self.max_pools, self.kept)
        self._observe(requests, answers)
        return answers

    async def _catch_up_if_older(self, seconds: float, strict: bool) -> None:
        """Catch the state up to the head when it was last the head more than `seconds` ago;
        a chain error is raised only if `strict`, else what is held still answers."""
        older = self.clock() - self.confirmed_at > seconds
        if self.head is None or self.catch_up is None or not older:
            return
        try:
            await self.catch_up()
        except PricefeedError as e:
            if strict:
                raise
            log.info("%s: state not caught up: %s", self.name, e.message)

    async def _answer(
        self, requests: list[QuoteRequest], routes: list[list[list[Hop]]], head: Block | None
    ) -> list[Quote | PricefeedError]:
        """Each request's answer through its routes, their pools loaded first where not held
        (at `head` when nothing is held yet)."""
        needed = {h.pool for rs in routes for route in rs for h in route}
        # the batch's pools stay held until it is answered, beyond `max_pools` if need be
        batch = frozenset(p.address for p in needed)
        # priced again when a block was applied, or a pool let go, while words were read
        for _ in range(3):
            missing = [p for p in needed if p.address not in self.states.pools]
            if missing or self.head is None:
                await self.load(missing, head, batch)
            head, evictions = self.head, self.states.evictions
            bests = await self._bests(requests, routes)
            answers = [
                self.quoter.answer(request, best, len(candidates), head, self.confirmed_at)
                for request, candidates, best in zip(requests, routes, bests, strict=True)
            ]
            if self.head == head and self.states.evictions == evictions:
                break
        return answers

    def _observe(self, requests: list[QuoteRequest], answers: list) -> None:
        """Hand the quotes served to `on_quotes` (the shadow check)."""
        if self.on_quotes is not None:
            self.on_quotes(
                [(r, a) for r, a in zip(requests, answers, strict=True) if isinstance(a, Quote)]
            )

    def keep(self, pairs: list[tuple[str, str]]) -> None:
        """Never let go of the pools these token pairs are priced through (the pairs of the
        tiers followed every block); the rest are held least recently priced first out."""
        self.kept = frozenset(
            h.pool.address for a, b in pairs for route in self.quoter.routes(a, b) for h in route
        )

    def holds(self, request: QuoteRequest) -> bool:
        """Whether the request can be answered without the chain: every route's pools held
        (or no route at all), nothing left to look up (word loads for far swaps aside)."""
        return self._held_routes(request) is not None

    def _held_routes(self, request: QuoteRequest) -> list[list[Hop]] | None:
        """The request's routes when every pool on them is held; [] when its pairs were looked
        up and have no pool (no route, known without the chain); None when the chain is needed."""
        if self.head is None or self._pairs_wanted([request]):
            return None
        routes = self.quoter.routes(request.token_in.address, request.token_out.address)
        held = self.states.pools
        if all(h.pool.address in held for r in routes for h in r):
            return routes
        return None

    def quote_held(
        self, request: QuoteRequest, observed: bool = True
    ) -> Quote | PricefeedError | None:
        """The quote (or why there is none) from held state alone, with no I/O; None where
        that cannot be: pools to look up or load, or a swap reaching unread tick words.
        `observed`: the quote is served, so `on_quotes` (the shadow check) sees it."""
        routes = self._held_routes(request)
        if routes is None:
            return None
        try:
            best = self.states.best_held(request.amount_in, routes)
        except WordNotLoaded:
            return None
        answer = self.quoter.answer(request, best, len(routes), self.head, self.confirmed_at)
        if observed:
            self._observe([request], [answer])
        return answer

    async def _bests(
        self, requests: list[QuoteRequest], routes: list[list[list[Hop]]]
    ) -> list[Best | None]:
        """Each request's best route and what it buys. Those whose swaps reach tick words not
        read yet read them all at once, not one request after another (a cold batch of far
        swaps would otherwise wait out a round trip per request)."""
        bests: list[Best | None] = []
        unread = []
        for i, (request, candidates) in enumerate(zip(requests, routes, strict=True)):
            try:
                bests.append(self.states.best_held(request.amount_in, candidates))
            except WordNotLoaded:
                bests.append(None)
                unread.append(i)
        read = await asyncio.gather(
            *(self.states.best_reading(requests[i].amount_in, routes[i]) for i in unread)
        )
        for i, best in zip(unread, read, strict=True):
            bests[i] = best
        return bests

    def _pairs_wanted(self, requests: list[QuoteRequest]) -> set[tuple[str, str]]:
        """The token pairs (direct and hub legs) of these requests with look-ups to make."""
        pairs = {sort_pair(a, b) for a, b in self.quoter.legs(requests) if a != b}
        return pairs if self.quoter.book.wanted(pairs) else set()

    async def _learn(self, requests: list[QuoteRequest]) -> Found | None:
        """Look up the pools of the requests' pairs and hub legs not looked up yet, and return
        what that round found (None: route from the book). When every request already has a
        route, the look-up runs in the background and the answers do not wait for it (after a
        restart with the chain out of reach, they cannot)."""
        pairs = self._pairs_wanted(requests)
        if not pairs:
            return None
        routed = all(self.quoter.routes(r.token_in.address, r.token_out.address) for r in requests)
        if not routed:
            return await self.quoter.book.learn(pairs, self.quoter.call_latest)
        if self._learning is None or self._learning.done():
            self._learning = asyncio.ensure_future(self._learn_later(pairs))
        return None

    async def _learn_later(self, pairs) -> None:
        try:
            await self.quoter.book.learn(pairs, self.quoter.call_latest)
        except UpstreamUnavailable as e:
            log.info("%s: pool look-ups wait for the chain: %s", self.name, e)

    async def warm(self) -> int:
        """Find and load the pools of every pair of configured tokens (the hubs among them):
        one round trip of factory look-ups, one of reads. Returns the pools held."""
        chain = self.quoter.chain
        tokens = sorted({chain.token(t.symbol).address for t in chain.settings.tokens})
        pairs = {sort_pair(a, b) for a, b in combinations(tokens, 2)}
        head, found = await asyncio.gather(
            self._latest(), self.quoter.book.learn(pairs, self.quoter.call_latest)
        )
        pools = {p for found_pools in found.values() for p in found_pools}
        await self.load(list(pools), head)
        return len(self.states.pools)

    async def _latest(self) -> Block:
        return Block.of(await self.quoter.rpc.request("eth_getBlockByNumber", ["latest", False]))

    async def load(
        self, pools: list[Pool], head: Block | None = None, batch: frozenset[str] = frozenset()
    ) -> None:
        """Read these pools' state at the held block (or at the head, `head` if known, when
        nothing is held yet): one round trip. A pool the held block does not have yet (just
        created) is read again once the state has caught up with the head. The pools in
        `batch` (a batch being priced) are not let go to make room."""
        unread = await self._read(pools, head, batch)
        if unread and self.catch_up is not None:
            await self.catch_up()
            await self._read(unread, batch=batch)

    async def _read(
        self, pools: list[Pool], head: Block | None = None, batch: frozenset[str] = frozenset()
    ) -> list[Pool]:
        async with self.states.lock:
            if self.head is None:
                self.move_to(head or await self._latest())
            wanted = [p for p in pools if p.address not in self.states.pools]
            if not wanted:
                return []
            unread = await self.states.read(wanted)
            self.states.evict(self.max_pools, self.kept | batch)
            self.loads += 1
            for p in wanted:  # the venues' figures on the RPC page count pools read
                self.quoter.dex_calls[p.venue] += 1
                self.quoter.dex_failures[p.venue] += p in unread
            return unread

    def restore(self, head: Block, confirmed_at: float, pools: dict[Pool, object]) -> None:
        """Take back state persisted earlier (see `Store.pool_states`): pools and their state
        as of `head`, which was the head at `confirmed_at`."""
        self.head, self.confirmed_at, self.caught_up = head, confirmed_at, False
        self.states.block = hex(head.number)
        for pool, state in pools.items():
            self.states.pools[pool.address] = pool
            self.states.used[pool.address] = None
            if isinstance(state, V3Pool):
                self.states.v3[pool.address] = state
            elif state is not None:
                self.states.reserves[pool.address] = state  # type: ignore[assignment]
            self.quoter.book.add(pool)
