"""Quotes priced from pool state at one block: every direct pool and every two-hop route
through a hub, on any venue each hop (V2 then V3 included), computed off-chain with the
contracts' own integer math. The answers are the same Quotes the on-chain quoter gives."""

from __future__ import annotations

import asyncio

from pricefeed.chain.v3math import MathError, V3Pool
from pricefeed.chain.v3state import RunAt, quote_exact_input, read_v3_pools
from pricefeed.dexes import Hop, Pool
from pricefeed.dexes.uniswap_v2 import GET_RESERVES, UniswapV2, amount_out
from pricefeed.errors import PricefeedError
from pricefeed.quoter import Quote, Quoter, QuoteRequest


class PoolStates:
    """The state of some pools at one block: V2 reserves and V3 swap state."""

    def __init__(self, run_at: RunAt, block: str, fees_bps: dict[str, int]):
        self.run_at, self.block = run_at, block
        self.fees_bps = fees_bps  # V2 venue name -> fee
        self.reserves: dict[str, tuple[int, int]] = {}
        self.v3: dict[str, V3Pool] = {}
        self.word_loads = 0  # round trips spent on tick words a swap reached

    async def read(self, pools: list[Pool]) -> None:
        v2 = [p.address for p in pools if p.venue in self.fees_bps]
        v3 = [p.address for p in pools if p.venue not in self.fees_bps]
        reserves, self.v3 = await asyncio.gather(
            self.run_at([GET_RESERVES.call(a) for a in v2], self.block),
            read_v3_pools(v3, self.run_at, self.block),
        )
        for address, (ok, data) in zip(v2, reserves, strict=True):
            if ok:
                self.reserves[address] = GET_RESERVES.decode(data)[:2]

    async def out(self, hop: Hop, amount: int) -> int | None:
        """What `amount` of hop.token_in buys in this pool, or None where it cannot trade."""
        pool, zero_for_one = hop.pool, hop.token_in == hop.pool.token0
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
            out, loads = await quote_exact_input(
                state, pool.address, zero_for_one, amount, self.run_at, self.block
            )
        except MathError:  # where the pool (or QuoterV2) would revert
            return None
        self.word_loads += loads
        return out


class StateQuoter:
    """Quotes from state read at the block the quote is for, through the quoter's pool book."""

    def __init__(self, quoter: Quoter):
        self.quoter = quoter
        self.fees_bps = {
            name: venue.fee_bps
            for name, venue in quoter.venues.items()
            if isinstance(venue, UniswapV2)
        }

    async def quote_many(self, requests: list[QuoteRequest]) -> list[Quote | PricefeedError]:
        q = self.quoter
        block = await q.learn_pools(requests)
        routes = [q.routes(r.token_in.address, r.token_out.address) for r in requests]
        pools = list({h.pool: None for rs in routes for r in rs for h in r})
        states = PoolStates(q.call_at, hex(block.number), self.fees_bps)
        await states.read(pools)
        answers: list[Quote | PricefeedError] = []
        for request, candidates in zip(requests, routes, strict=True):
            best = None
            for hops in candidates:
                out = await self._route_out(states, hops, request.amount_in)
                if out is not None and (best is None or out > best[0]):
                    best = (out, hops)
            answers.append(q.answer(request, best, len(candidates), block))
        return answers

    @staticmethod
    async def _route_out(states: PoolStates, hops: list[Hop], amount: int) -> int | None:
        for i, hop in enumerate(hops):
            if i and not amount:  # nothing comes out of the first hop: no route (as on-chain)
                return None
            out = await states.out(hop, amount)
            if out is None:
                return None
            amount = out
        return amount
