"""Served quotes asked on-chain again now and then, at the block they were computed at: the
off-chain math checked against the contracts in production, not only in the tests."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from pricefeed.chain.dexes import Pool
from pricefeed.chain.dexes.uniswap_v2 import GET_RESERVES, UniswapV2, amount_out
from pricefeed.chain.dexes.uniswap_v3 import QUOTE_SINGLE, UniswapV3
from pricefeed.chain.multicall import Fn
from pricefeed.chain.quoter import Quoter
from pricefeed.chain.rpc.budget import CHECK, spending
from pricefeed.errors import PricefeedError
from pricefeed.model import Quote, QuoteRequest

log = logging.getLogger(__name__)
GET_AMOUNTS_OUT = Fn("getAmountsOut(uint256,address[])", ["uint256[]"], gas=40_000)


class Shadow:
    """Checks a `rate` share of quotes, at most `per_second` a second."""

    def __init__(
        self,
        quoter: Quoter,
        pools: dict[str, Pool],
        rate: float,
        per_second: float,
        chance: Callable[[], float] = random.random,
    ):
        self.quoter = quoter
        self.pools = pools  # the held pools, by address: a route names its pools
        self.rate, self.per_second = rate, per_second
        self.chance = chance
        self.checked = self.mismatches = self.failed = self.skipped = 0
        self.last_mismatch: dict | None = None
        self._last = -1e18
        self._running: set[asyncio.Task] = set()

    def consider(self, answers: list[tuple[QuoteRequest, Quote]]) -> None:
        """Pick the quotes to check among these, and check them in the background."""
        for _, quote in answers:
            now = time.monotonic()
            if self.per_second <= 0 or now - self._last < 1 / self.per_second:
                return
            if self.quoter.rpc.busy():  # the budget is the follower's and the loads' first
                self.skipped += 1
                return
            if self.chance() < self.rate:
                self._last = now
                task = asyncio.ensure_future(self.check(quote))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def check(self, quote: Quote) -> bool | None:
        """Whether the chain gives the same amount at the quote's block; None if it could not
        be asked (the node no longer holds that block's state, or it is out of reach)."""
        try:
            with spending(CHECK):
                onchain = await self._onchain(quote)
        except (PricefeedError, KeyError) as e:
            self.failed += 1
            log.info("shadow check of a %s quote not made: %s", quote.chain, e)
            return None
        self.checked += 1
        if onchain == quote.amount_out_raw:
            return True
        self.mismatches += 1
        self.last_mismatch = {
            "block": quote.block_number,
            "amountIn": str(quote.amount_in_raw),
            "ours": str(quote.amount_out_raw),
            "onchain": None if onchain is None else str(onchain),
            "route": [h.pool for h in quote.route],
        }
        log.error("shadow check mismatch on %s: %s", quote.chain, self.last_mismatch)
        return False

    async def _onchain(self, quote: Quote) -> int | None:
        amount, token_in = quote.amount_in_raw, quote.token_in.address
        block = hex(quote.block_number)
        for hop in quote.route:
            pool = self.pools[hop.pool]
            token_out = pool.token1 if token_in == pool.token0 else pool.token0
            amount = await self._hop(pool, token_in, token_out, amount, block)
            if amount is None:
                return None
            token_in = token_out
        return amount

    async def _hop(self, pool: Pool, token_in: str, token_out: str, amount: int, block: str):
        venue = self.quoter.venues[pool.venue]
        if isinstance(venue, UniswapV3):
            call = QUOTE_SINGLE.call(venue.quoter, (token_in, token_out, amount, pool.fee, 0))
            ((ok, data),) = await self.quoter.call_at([call], block)
            return QUOTE_SINGLE.decode(data)[0] if ok else None
        if isinstance(venue, UniswapV2) and venue.router is not None:
            call = GET_AMOUNTS_OUT.call(venue.router, amount, [token_in, token_out])
            ((ok, data),) = await self.quoter.call_at([call], block)
            return GET_AMOUNTS_OUT.decode(data)[0][-1] if ok else None
        # a fork without a router configured: its pair's reserves, with the fork's formula
        ((ok, data),) = await self.quoter.call_at([GET_RESERVES.call(pool.address)], block)
        if not ok:
            return None
        r0, r1, _ = GET_RESERVES.decode(data)
        reserve_in, reserve_out = (r0, r1) if token_in == pool.token0 else (r1, r0)
        return amount_out(amount, reserve_in, reserve_out, venue.fee_bps)  # type: ignore[attr-defined]

    async def settle(self) -> None:
        """Wait for the checks under way."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
