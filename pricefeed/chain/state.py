"""A chain's pool state, held in memory at one block: loaded when a pair is first asked for,
kept at the head by the follower, and priced from off-chain with the contracts' own math.

Every quote of every pair is computed from the same block's state: every direct pool and
every two-hop route through a hub, on any venue each hop (V2 then V3 included).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from itertools import combinations
from typing import TYPE_CHECKING

from pricefeed.chain.dexes import Hop, Pool
from pricefeed.chain.dexes.uniswap_v2 import GET_RESERVES, UniswapV2, amount_out
from pricefeed.chain.pools import Found, sort_pair
from pricefeed.chain.quoter import Quoter
from pricefeed.chain.rpc import Block
from pricefeed.chain.rpc.endpoint import CallError
from pricefeed.chain.v3math import Bitmap, MathError, V3Pool, WordNotLoaded, swap_exact_input
from pricefeed.chain.v3state import (
    RunAt,
    RunCode,
    quote_exact_input,
    read_v3_pools,
    read_v3_pools_at_once,
)
from pricefeed.errors import PricefeedError, UpstreamUnavailable
from pricefeed.model import Quote, QuoteRequest

if TYPE_CHECKING:
    from pricefeed.chain.shadow import Shadow

log = logging.getLogger(__name__)
Reserves = tuple[int, int]
Restored = tuple[Block, float, dict[Pool, "V3Pool | Reserves | None"]]  # head, confirmed, pools


class PoolStates:
    """The state of some pools at one block: V2 reserves and V3 swap state. `lock` is held by
    whatever reads pools from the chain into them or moves them to another block, so that
    every pool they hold is read at the block they are at (tick words a swap reaches are read
    beside it: see `out`)."""

    def __init__(
        self,
        run_at: RunAt,
        block: str,
        fees_bps: dict[str, int],
        run_code: RunCode | None = None,
        gas_limit: int = 50_000_000,
    ):
        self.run_at, self.block = run_at, block
        self.fees_bps = fees_bps  # V2 venue name -> fee
        self.run_code, self.gas_limit = run_code, gas_limit  # for the one-call V3 reader
        self.pools: dict[str, Pool] = {}  # every pool held, by address
        self.reserves: dict[str, tuple[int, int]] = {}
        self.v3: dict[str, V3Pool] = {}
        self.changed: set[str] = set()  # pools changed since the store last took them
        self.evicted: set[str] = set()  # pools let go since the store last took them
        self.evictions = 0  # pools let go, ever
        self.used: dict[str, None] = {}  # held pools, least recently priced first
        self.word_loads = 0  # round trips spent on tick words a swap reached
        self.lock = asyncio.Lock()

    def like(self, block: str) -> PoolStates:
        """Empty states read the same way, at another block."""
        return PoolStates(self.run_at, block, self.fees_bps, self.run_code, self.gas_limit)

    def addresses(self) -> list[str]:
        """The pools with state to follow."""
        return [*self.reserves, *self.v3]

    async def read(self, pools: list[Pool]) -> list[Pool]:
        """Read these pools at the states' block (the caller holds the lock); returns those
        that could not be read there (created since, or not pools): they are not held."""
        v2 = [p.address for p in pools if p.venue in self.fees_bps]
        v3 = [p.address for p in pools if p.venue not in self.fees_bps]
        reserves, read_v3 = await asyncio.gather(
            self.run_at([GET_RESERVES.call(a) for a in v2], self.block),
            self._read_v3(v3),
        )
        for address, (ok, data) in zip(v2, reserves, strict=True):
            if ok and len(data) >= 96:  # a call to no code succeeds with nothing
                self.reserves[address] = GET_RESERVES.decode(data)[:2]
        self.v3.update(read_v3)
        read = [p for p in pools if p.address in self.reserves or p.address in self.v3]
        self.pools.update((p.address, p) for p in read)
        self.changed.update(p.address for p in read)
        self.used.update((p.address, None) for p in read)
        self.evicted.difference_update(p.address for p in read)
        return [p for p in pools if p.address not in self.pools]

    def evict(self, keep: int, kept: frozenset[str] = frozenset()) -> None:
        """Let go of the least recently priced pools beyond `keep` (read again if wanted);
        the pools in `kept` stay, and are not counted."""
        others = [a for a in self.used if a not in kept]
        for address in others[: max(0, len(others) - keep)]:
            del self.used[address]
            self.pools.pop(address, None)
            self.reserves.pop(address, None)
            self.v3.pop(address, None)
            self.changed.discard(address)
            self.evicted.add(address)
            self.evictions += 1

    async def _read_v3(self, addresses: list[str]) -> dict[str, V3Pool]:
        if addresses and self.run_code is not None:
            try:
                return await read_v3_pools_at_once(
                    addresses, self.run_code, self.block, self.gas_limit
                )
            except CallError as e:  # a node that will not run it: the same in three rounds
                log.info("pool reader refused (%s); reading with multicalls", e)
        return await read_v3_pools(addresses, self.run_at, self.block)

    def out_held(self, hop: Hop, amount: int) -> int | None:
        """What `amount` of hop.token_in buys in this pool, or None where it cannot trade;
        computed from what is held, with no I/O: raises WordNotLoaded where the swap reaches
        tick words not read yet."""
        pool, zero_for_one = hop.pool, hop.token_in == hop.pool.token0
        if self.used.pop(pool.address, 0) is None:  # now the most recently priced
            self.used[pool.address] = None
        if pool.venue in self.fees_bps:
            if pool.address not in self.reserves:
                return None
            r0, r1 = self.reserves[pool.address]
            reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
            return amount_out(amount, reserve_in, reserve_out, self.fees_bps[pool.venue])
        state = self.v3.get(pool.address)
        if state is None:
            return None
        try:
            return swap_exact_input(state, zero_for_one, amount)[1]
        except MathError:  # where the pool (or QuoterV2) would revert
            return None

    async def out(self, hop: Hop, amount: int) -> int | None:
        """The same, reading the tick words the swap reaches when they are not held.

        The words are read into a copy of the pool, without the lock, so the follower and
        other swaps go on meanwhile; they join the held pool only if no Mint or Burn was
        applied to it since (else they are read again), and the swap is then priced from it.
        """
        for _ in range(MAX_WORD_READS):
            try:
                return self.out_held(hop, amount)
            except WordNotLoaded:
                pass
            address = hop.pool.address
            state, block = self.v3[address], self.block
            seen, trial = state.positions_changed, _copy_ticks(state)
            try:
                _, loads = await quote_exact_input(
                    trial, address, hop.token_in == hop.pool.token0, amount, self.run_at, block
                )
            except MathError:
                return None
            self.word_loads += loads
            if self.v3.get(address) is state and state.positions_changed == seen:
                for word, bits in dict.items(trial.bitmap):
                    state.bitmap.setdefault(word, bits)
                for tick, gross in trial.liquidity_gross.items():
                    state.liquidity_gross.setdefault(tick, gross)
                    state.liquidity_net.setdefault(tick, trial.liquidity_net[tick])
                self.changed.add(address)
        raise UpstreamUnavailable(
            f"the ticks of pool {hop.pool.address} kept changing while they were read"
        )


MAX_WORD_READS = 4  # tries at reading the words a swap reaches while positions change


def _copy_ticks(pool: V3Pool) -> V3Pool:
    """The pool with copies of its words and ticks, for words to be read into."""
    return V3Pool(
        pool.sqrt_price_x96,
        pool.tick,
        pool.liquidity,
        pool.fee,
        pool.tick_spacing,
        bitmap=Bitmap(dict.items(pool.bitmap), zero=getattr(pool.bitmap, "zero", range(0))),
        liquidity_net=dict(pool.liquidity_net),
        liquidity_gross=dict(pool.liquidity_gross),
    )


def v2_fees(quoter: Quoter) -> dict[str, int]:
    return {n: v.fee_bps for n, v in quoter.venues.items() if isinstance(v, UniswapV2)}


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
        if (
            fresh_within is not None
            and self.head is not None
            and self.catch_up is not None
            and self.clock() - self.confirmed_at > fresh_within
        ):
            try:
                await self.catch_up()
            except PricefeedError as e:  # else what is held still answers, as old as it is
                if strict:
                    raise
                log.info("%s: state not caught up: %s", self.name, e.message)
        head = None
        if self.head is None:  # the first pair: the head and the look-ups in one round trip
            head, found = await asyncio.gather(self._latest(), self._learn(requests))
        else:
            found = await self._learn(requests)
        q = self.quoter
        routes = [q.routes(r.token_in.address, r.token_out.address, found) for r in requests]
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
                q.answer(request, best, len(candidates), head, self.confirmed_at)
                for request, candidates, best in zip(requests, routes, bests, strict=True)
            ]
            if self.head == head and self.states.evictions == evictions:
                break
        if len(self.states.pools) > self.max_pools:
            async with self.states.lock:
                self.states.evict(self.max_pools, self.kept)
        if self.on_quotes is not None:
            self.on_quotes(
                [(r, a) for r, a in zip(requests, answers, strict=True) if isinstance(a, Quote)]
            )
        return answers

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
            best = self._best_held(request.amount_in, routes)
        except WordNotLoaded:
            return None
        answer = self.quoter.answer(request, best, len(routes), self.head, self.confirmed_at)
        if observed and self.on_quotes is not None and isinstance(answer, Quote):
            self.on_quotes([(request, answer)])
        return answer

    async def _bests(
        self, requests: list[QuoteRequest], routes: list[list[list[Hop]]]
    ) -> list[tuple[int, list[Hop]] | None]:
        """Each request's best route and what it buys. Those whose swaps reach tick words not
        read yet read them all at once, not one request after another (a cold batch of far
        swaps would otherwise wait out a round trip per request)."""
        bests: list[tuple[int, list[Hop]] | None] = []
        unread = []
        for i, (request, candidates) in enumerate(zip(requests, routes, strict=True)):
            try:
                bests.append(self._best_held(request.amount_in, candidates))
            except WordNotLoaded:
                bests.append(None)
                unread.append(i)
        read = await asyncio.gather(
            *(self._best_reading(requests[i].amount_in, routes[i]) for i in unread)
        )
        for i, best in zip(unread, read, strict=True):
            bests[i] = best
        return bests

    def _best_held(self, amount: int, candidates: list[list[Hop]]) -> tuple[int, list[Hop]] | None:
        best = None
        for hops in candidates:
            out = self._route_out_held(hops, amount)
            if out is not None and (best is None or out > best[0]):
                best = (out, hops)
        return best

    async def _best_reading(
        self, amount: int, candidates: list[list[Hop]]
    ) -> tuple[int, list[Hop]] | None:
        best = None
        for hops in candidates:
            out = await self._route_out(hops, amount)
            if out is not None and (best is None or out > best[0]):
                best = (out, hops)
        return best

    def _route_out_held(self, hops: list[Hop], amount: int) -> int | None:
        for i, hop in enumerate(hops):
            if i and not amount:  # nothing comes out of the first hop: no route (as on-chain)
                return None
            out = self.states.out_held(hop, amount)
            if out is None:
                return None
            amount = out
        return amount

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

    async def _route_out(self, hops: list[Hop], amount: int) -> int | None:
        for i, hop in enumerate(hops):
            if i and not amount:  # nothing comes out of the first hop: no route (as on-chain)
                return None
            out = await self.states.out(hop, amount)
            if out is None:
                return None
            amount = out
        return amount


def state_to_json(state: V3Pool | Reserves | None) -> str | None:
    """A pool's state as JSON text (integers of any size, as JSON allows)."""
    if state is None:
        return None
    if isinstance(state, V3Pool):
        return json.dumps(
            {
                "sqrtPriceX96": state.sqrt_price_x96,
                "tick": state.tick,
                "liquidity": state.liquidity,
                "fee": state.fee,
                "tickSpacing": state.tick_spacing,
                "bitmap": dict(state.bitmap),
                "zero": [state.bitmap.zero.start, state.bitmap.zero.stop]
                if isinstance(state.bitmap, Bitmap)
                else [0, 0],
                "ticks": {t: [state.liquidity_gross[t], n] for t, n in state.liquidity_net.items()},
            }
        )
    return json.dumps({"reserves": list(state)})


def state_from_json(text: str | None) -> V3Pool | Reserves | None:
    if text is None:
        return None
    data = json.loads(text)
    if "reserves" in data:
        r0, r1 = data["reserves"]
        return (r0, r1)
    ticks = {int(t): v for t, v in data["ticks"].items()}
    return V3Pool(
        data["sqrtPriceX96"],
        data["tick"],
        data["liquidity"],
        data["fee"],
        data["tickSpacing"],
        bitmap=Bitmap(
            {int(w): bits for w, bits in data["bitmap"].items()}, zero=range(*data["zero"])
        ),
        liquidity_net={t: net for t, (_, net) in ticks.items()},
        liquidity_gross={t: gross for t, (gross, _) in ticks.items()},
    )
