"""Quotes computed again off the request path: refreshes queued at most once per key until
they expire, the refresh job that runs them, and pre-warming the pairs on the rise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cachetools import LRUCache

from pricefeed.chain.engine import QuoteEngine
from pricefeed.errors import PricefeedError, UpstreamUnavailable
from pricefeed.model import PairKey, Quote, QuoteKey, QuoteRequest
from pricefeed.serving.demand import DemandTracker
from pricefeed.serving.fetcher import Fetcher
from pricefeed.serving.memo import Memo
from pricefeed.serving.tiers import PRIORITY_PREWARM, Tier

log = logging.getLogger(__name__)
Submit = Callable[[list[QuoteKey], int, float], object]  # (keys, priority, expires) -> awaitable


class Refreshes:
    def __init__(
        self,
        engine: QuoteEngine,
        fetcher: Fetcher,
        memo: Memo,
        demand: DemandTracker,
        tier: Callable[[PairKey], Tier],
        submit: Submit | None,
        clock: Callable[[], float],
    ):
        self.engine = engine
        self.fetcher = fetcher
        self.memo = memo
        self.demand = demand
        self.tier = tier
        self.submit = submit  # None: nothing is queued (a process without a queue)
        self.clock = clock
        self.queued: LRUCache[QuoteKey, float] = LRUCache(memo.l1.size)  # asked for, until
        self.background: set[asyncio.Task] = set()

    def soon(self, keys: list[QuoteKey], priority: int, expires: float) -> None:
        """Queue a refresh of these keys unless one was queued for them already."""
        now = self.clock()
        wanted = [k for k in keys if self.queued.get(k, 0.0) < now]
        if not wanted or self.submit is None:
            return
        for k in wanted:
            self.queued[k] = now + expires
        self._spawn(self.submit(wanted, priority, expires))

    def done(self, keys: list[QuoteKey]) -> None:
        """These keys have fresh quotes: a refresh may be queued for them again."""
        for key in keys:
            self.queued.pop(key, None)

    def expire(self) -> None:
        """Forget the queued marks whose refreshes have expired."""
        now = self.clock()
        for key in [k for k, until in self.queued.items() if until <= now]:
            del self.queued[key]

    async def refresh(self, keys: list[QuoteKey], fresh_within: float = 0.0) -> int:
        """The refresh job: compute these quotes again from state that was the head within
        `fresh_within` seconds (the job's period). While the follower keeps up that costs no
        RPC; where it cannot, the state is caught up first. Raises if the chain answered none
        of them."""
        futures = []
        for key in keys:
            try:
                chain, request = await self.engine.request_raw(*key)
            except PricefeedError as e:  # the token is gone from the config: nothing to refresh
                log.info("refresh of %s skipped: %s", key, e)
                continue
            state = self.engine.state(chain)
            futures.append(self.fetcher.fetch(state, key, request, fresh_within, strict=True))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failures = [r for r in results if isinstance(r, UpstreamUnavailable | TimeoutError)]
        if results and len(failures) == len(results):
            raise failures[0]
        return len(results) - len(failures)

    async def prewarm(self) -> None:
        """The background job: load again the pools of rising pairs that are no longer held
        (let go as least recently priced), before they are asked for again."""
        rising = set(self.demand.rising(self.clock()))
        if not rising:
            return
        due, checked = [], {}  # routes are looked at once per pair, not once per amount
        for key in self.memo.l1:
            if key.pair in rising and (entry := self.memo.l1.peek(key)):
                if key.pair not in checked:
                    checked[key.pair] = not self.follows(key, entry.quote)
                if checked[key.pair]:
                    due.append(key)
        if due:
            self.soon(due, PRIORITY_PREWARM, self.tier(due[0].pair).ttl)

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

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        task.add_done_callback(_log_failure)

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background refresh request failed: %s", task.exception())
