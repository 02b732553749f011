"""The pools held at one block (V2 reserves, V3 swap states): read from the chain, let go
least recently priced first, and priced from through any route of their pools."""

from __future__ import annotations

import asyncio
import logging

from pricefeed.chain.dexes import Hop, Pool
from pricefeed.chain.dexes.uniswap_v2 import GET_RESERVES, UniswapV2, amount_out
from pricefeed.chain.quoter import Quoter
from pricefeed.chain.rpc.endpoint import CallError
from pricefeed.chain.v3 import MathError
from pricefeed.chain.v3.pool import V3Pool, swap_exact_input
from pricefeed.chain.v3.tick_bitmap import Bitmap, WordNotLoaded
from pricefeed.chain.v3state import (
    RunAt,
    RunCode,
    quote_exact_input,
    read_v3_pools,
    read_v3_pools_at_once,
)
from pricefeed.errors import UpstreamUnavailable

log = logging.getLogger(__name__)
Reserves = tuple[int, int]
Best = tuple[int, list[Hop]]  # what the best route buys, and the route
MAX_WORD_READS = 4  # tries at reading the words a swap reaches while positions change


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
        self.reserves: dict[str, Reserves] = {}
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

    def best_held(self, amount: int, candidates: list[list[Hop]]) -> Best | None:
        """The route among `candidates` that buys the most for `amount`, from what is held:
        raises WordNotLoaded where a swap reaches tick words not read yet."""
        return _best((self.route_out_held(hops, amount), hops) for hops in candidates)

    async def best_reading(self, amount: int, candidates: list[list[Hop]]) -> Best | None:
        """The same, reading the tick words the swaps reach."""
        return _best([(await self.route_out(hops, amount), hops) for hops in candidates])

    def route_out_held(self, hops: list[Hop], amount: int) -> int | None:
        for i, hop in enumerate(hops):
            if i and not amount:  # nothing comes out of the first hop: no route (as on-chain)
                return None
            out = self.out_held(hop, amount)
            if out is None:
                return None
            amount = out
        return amount

    async def route_out(self, hops: list[Hop], amount: int) -> int | None:
        for i, hop in enumerate(hops):  # route_out_held's walk, reading words with `out`
            if i and not amount:
                return None
            out = await self.out(hop, amount)
            if out is None:
                return None
            amount = out
        return amount

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
                _add_ticks(state, trial)
                self.changed.add(address)
        raise UpstreamUnavailable(
            f"the ticks of pool {hop.pool.address} kept changing while they were read"
        )


def v2_fees(quoter: Quoter) -> dict[str, int]:
    """The fee of each V2 venue of the quoter's chain, by venue name (PoolStates' `fees_bps`)."""
    return {n: v.fee_bps for n, v in quoter.venues.items() if isinstance(v, UniswapV2)}


def _best(outs) -> Best | None:
    """The first route that buys the most, of (amount out or None, route) pairs."""
    best = None
    for out, hops in outs:
        if out is not None and (best is None or out > best[0]):
            best = (out, hops)
    return best


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


def _add_ticks(pool: V3Pool, read: V3Pool) -> None:
    """The words and ticks of `read` (a copy of `pool`, read further) that `pool` lacks."""
    for word, bits in dict.items(read.bitmap):
        pool.bitmap.setdefault(word, bits)
    for tick, gross in read.liquidity_gross.items():
        pool.liquidity_gross.setdefault(tick, gross)
        pool.liquidity_net.setdefault(tick, read.liquidity_net[tick])
