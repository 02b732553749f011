"""Exact best-venue quotes for one chain, many per multicall, all at one pinned block.

Candidates of a quote: every direct pool, and every two-hop route through a hub token whose
hops can be priced exactly inside the same eth_call: either each hop after the first is priced
off-chain from state read in the batch (V2 reserves), or the whole route is on one venue with
an on-chain quoter (V3 quoteExactInput). A V2-then-V3 route would need the V2 output before the
V3 quote could be asked, that is a second round trip, so it is not a candidate.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pricefeed.amounts import format_price, format_units
from pricefeed.chain.chains import Chain
from pricefeed.chain.dexes import Hop, Venue, make_venue
from pricefeed.chain.multicall import Call, decode_aggregate3, encode_aggregate3
from pricefeed.chain.pools import Found, PoolBook
from pricefeed.chain.rpc import Block, RpcPool
from pricefeed.errors import NoRoute, PricefeedError
from pricefeed.model import Quote, QuoteRequest, RouteHop


@dataclass
class _Candidate:
    hops: list[Hop]
    quote: int | None  # batch index of the on-chain quote covering hops[:covers]
    covers: int
    states: list[int | None]  # batch index of each later hop's pool state


@dataclass
class _Batch:
    calls: list[Call] = field(default_factory=list)
    index: dict[tuple[str, bytes], int] = field(default_factory=dict)
    plans: list[tuple[int, list[_Candidate]]] = field(default_factory=list)  # request no., cands
    venues: list[str] = field(default_factory=list)  # the venue of each call
    gas: int = 0

    def add(self, call: Call, venue: str) -> int:
        key = (call.target, call.data)
        if key not in self.index:
            self.index[key] = len(self.calls)
            self.calls.append(call)
            self.venues.append(venue)
            self.gas += call.gas
        return self.index[key]


class Quoter:
    def __init__(
        self,
        chain: Chain,
        rpc: RpcPool,
        clock: Callable[[], float] = time.time,
        pool_pairs: int = 50_000,
    ):
        self.chain = chain
        self.clock = clock  # stamps fetched_at
        self.rpc = rpc
        self.venues: dict[str, Venue] = {d.name: make_venue(d) for d in chain.dexes}
        self.book = PoolBook(list(self.venues.values()), size=pool_pairs)
        self.eth_calls = 0  # multicalls sent, for metrics and tests
        self.dex_calls: Counter[str] = Counter()  # calls inside multicalls, by venue
        self.dex_failures: Counter[str] = Counter()  # ...that reverted: missing or empty pools

    async def quote(self, request: QuoteRequest) -> Quote:
        (result,) = await self.quote_many([request])
        if isinstance(result, PricefeedError):
            raise result
        return result

    async def learn_pools(self, requests: list[QuoteRequest]) -> tuple[Block, Found]:
        """The head block, and the pools of every direct pair and hub leg of these requests."""
        pairs = self.legs(requests)
        # independent round trips: on a slow endpoint, waiting for both at once halves the wait
        return await asyncio.gather(
            self.rpc.latest_block(), self.book.learn(pairs, self.call_latest)
        )

    def legs(self, requests: list[QuoteRequest]) -> set[tuple[str, str]]:
        """The token pairs whose pools these requests' routes use: direct, and each hub leg."""
        hubs = [h.address for h in self.chain.hubs]
        pairs = set()
        for r in requests:
            a, b = r.token_in.address, r.token_out.address
            pairs |= {(a, b), *((a, h) for h in hubs), *((h, b) for h in hubs)}
        return pairs

    async def quote_many(self, requests: list[QuoteRequest]) -> list[Quote | PricefeedError]:
        """Quotes in request order; a request without any route gets a NoRoute in its place."""
        block, found = await self.learn_pools(requests)
        results: list[Quote | PricefeedError] = [NoRoute("not quoted")] * len(requests)
        for batch in self._batches(requests, found):
            answers = await self._aggregate(batch.calls, hex(block.number))
            for venue, (ok, _) in zip(batch.venues, answers, strict=True):
                self.dex_calls[venue] += 1
                self.dex_failures[venue] += not ok
            for i, candidates in batch.plans:
                results[i] = self._best(requests[i], candidates, answers, block)
        return results

    def _batches(self, requests: list[QuoteRequest], found: Found) -> list[_Batch]:
        settings = self.chain.settings
        batches = [_Batch()]
        for i, request in enumerate(requests):
            batch = batches[-1]
            if batch.plans and (
                len(batch.plans) >= settings.max_quotes_per_call
                or batch.gas >= settings.multicall_gas_limit * 0.8
            ):
                batch = _Batch()
                batches.append(batch)
            routes = self.routes(request.token_in.address, request.token_out.address, found)
            candidates = [c for r in routes if (c := self._plan(r, request.amount_in, batch))]
            batch.plans.append((i, candidates))
        return batches

    def routes(self, a: str, b: str, found: Found | None = None) -> list[list[Hop]]:
        """Every direct pool, and every two-hop route through a hub, from the pool book (and
        first from `found`, a look-up round's answers)."""
        pools = self.book.pools
        routes = [[Hop(p, a, b)] for p in pools(a, b, found)]
        for hub in self.chain.hubs:
            h = hub.address
            if h in (a, b):
                continue
            for first in pools(a, h, found):
                for second in pools(h, b, found):
                    routes.append([Hop(first, a, h), Hop(second, h, b)])
        return routes

    def _plan(self, hops: list[Hop], amount: int, batch: _Batch) -> _Candidate | None:
        venues = [self.venues[h.pool.venue] for h in hops]
        if all(v.prices_off_chain for v in venues[1:]):
            covers, quote = 0, None
            if not venues[0].prices_off_chain:
                call = venues[0].quote_call(hops[:1], amount)
                if call is None:
                    return None
                covers, quote = 1, batch.add(call, venues[0].name)
        elif len({h.pool.venue for h in hops}) == 1:
            call = venues[0].quote_call(hops, amount)
            if call is None:
                return None
            covers, quote = len(hops), batch.add(call, venues[0].name)
        else:
            return None
        states = [
            batch.add(venues[i].state_call(h.pool), venues[i].name) if i >= covers else None  # type: ignore[arg-type]
            for i, h in enumerate(hops)
        ]
        return _Candidate(hops, quote, covers, states)

    def _evaluate(
        self, c: _Candidate, amount: int, answers: list[tuple[bool, bytes]]
    ) -> int | None:
        try:
            if c.quote is not None:
                ok, data = answers[c.quote]
                if not ok:
                    return None
                amount = self.venues[c.hops[0].pool.venue].decode_quote(data)
            for hop, state in zip(c.hops[c.covers :], c.states[c.covers :], strict=True):
                ok, data = answers[state]  # type: ignore[index]
                out = self.venues[hop.pool.venue].out_from_state(hop, data, amount) if ok else None
                if out is None:
                    return None
                amount = out
        except Exception:  # undecodable answer: a broken or foreign contract, not a quote
            return None
        return amount

    def _best(self, request: QuoteRequest, candidates: list[_Candidate], answers, block: Block):
        best: tuple[int, list[Hop]] | None = None
        for c in candidates:
            out = self._evaluate(c, request.amount_in, answers)
            if out is not None and (best is None or out > best[0]):
                best = (out, c.hops)
        return self.answer(request, best, len(candidates), block)

    def answer(
        self,
        request: QuoteRequest,
        best: tuple[int, list[Hop]] | None,
        tried: int,
        block: Block,
        fetched_at: float | None = None,
    ) -> Quote | NoRoute:
        """The quote for the best route found among `tried`, or why there is none;
        `fetched_at` is when `block` was known to be the head (default: now)."""
        pair = f"{request.token_in.symbol}->{request.token_out.symbol} on {self.chain.name}"
        if not tried:
            return NoRoute(f"no route with liquidity for {pair}, direct or through a hub token")
        if best is None:
            return NoRoute(
                f"no route for {pair} can fill this amount ({tried} tried: "
                "it is too small or too large for their liquidity)"
            )
        if best[0] == 0:
            return NoRoute(f"{pair}: the amount is too small to buy any {request.token_out.symbol}")
        return self._quote(request, best[0], best[1], block, fetched_at)

    def _quote(
        self,
        request: QuoteRequest,
        out: int,
        hops: list[Hop],
        block: Block,
        fetched_at: float | None = None,
    ) -> Quote:
        t_in, t_out = request.token_in, request.token_out
        symbols = {t.address: t.symbol for t in self.chain.tokens}
        return Quote(
            chain=self.chain.name,
            chain_id=self.chain.chain_id,
            token_in=t_in,
            token_out=t_out,
            amount_in=format_units(request.amount_in, t_in.decimals),
            amount_in_raw=request.amount_in,
            amount_out=format_units(out, t_out.decimals),
            amount_out_raw=out,
            price=format_price(out, t_out.decimals, request.amount_in, t_in.decimals),
            route=[
                RouteHop(
                    dex=h.pool.venue,
                    kind=self.venues[h.pool.venue].kind,
                    pool=h.pool.address,
                    fee=h.pool.fee,
                    token_in=symbols.get(h.token_in, h.token_in),
                    token_out=symbols.get(h.token_out, h.token_out),
                )
                for h in hops
            ],
            block_number=block.number,
            block_hash=block.hash,
            fetched_at=datetime.fromtimestamp(
                self.clock() if fetched_at is None else fetched_at, UTC
            ),
        )

    async def call_latest(self, calls: list[Call]) -> list[tuple[bool, bytes]]:
        return await self.call_at(calls, "latest")

    async def call_at(self, calls: list[Call], block: str) -> list[tuple[bool, bytes]]:
        """Many calls at one block (a number in hex, or "latest"), in as few multicalls as
        the gas budget allows."""
        limit = self.chain.settings.multicall_gas_limit * 0.8
        answers: list[tuple[bool, bytes]] = []
        chunk: list[Call] = []
        gas = 0
        for call in [*calls, None]:
            if call is None or (chunk and gas + call.gas > limit):
                answers += await self._aggregate(chunk, block) if chunk else []
                chunk, gas = [], 0
            if call is not None:
                chunk.append(call)
                gas += call.gas
        return answers

    async def run_code(self, code: bytes, block: str) -> bytes:
        """Init code run by an eth_call with no target (nothing is deployed): its output."""
        result = await self.rpc.request("eth_call", [{"data": "0x" + code.hex()}, block])
        return bytes.fromhex(result.removeprefix("0x"))

    async def _aggregate(self, calls: list[Call], block: str) -> list[tuple[bool, bytes]]:
        if not calls:
            return []
        self.eth_calls += 1
        tx = {"to": self.chain.settings.multicall, "data": "0x" + encode_aggregate3(calls).hex()}
        result = await self.rpc.request("eth_call", [tx, block])
        return decode_aggregate3(bytes.fromhex(result.removeprefix("0x")))
