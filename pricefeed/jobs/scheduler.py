"""The tier scheduler: every tick, due work is derived from the store and queued.

Nothing is remembered between ticks, so work lost in a crash (a killed job, a dead worker)
is found again as soon as its claim runs out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from pricefeed.jobs.queue import RefreshQueue
from pricefeed.model import PairKey, QuoteKey
from pricefeed.serving.tiers import priority
from pricefeed.store import Store

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        store: Store,
        queue: RefreshQueue,
        recent: float,
        tick: float = 1.0,
        per_pair: int = 8,
        clock: Callable[[], float] = time.time,
        follows: Callable[[QuoteKey], bool] | None = None,
    ):
        self.store = store
        self.queue = queue
        self.recent = recent
        self.per_pair = per_pair  # amounts of one pair kept refreshed
        self.tick_seconds = tick
        self.clock = clock
        # keys whose pairs are priced from followed state need no refresh job (the web process
        # answers them from the head; a separate worker holds no state and refreshes them all)
        self.follows = follows

    async def tick(self) -> int:
        """Queue every due quote; returns how many were queued."""
        tiers = await self.store.tiers()
        due = await self.store.due(self.clock(), self.recent, tiers, self.per_pair)
        if self.follows is not None:
            followed: dict[PairKey, bool] = {}  # routes looked at once per pair
            for key, _ in due:
                if key.pair not in followed:
                    followed[key.pair] = self.follows(key)
            due = [(key, tier) for key, tier in due if not followed[key.pair]]
        queued = 0
        for tier in sorted({t for _, t in due}):
            keys = [k for k, t in due if t == tier]
            queued += await self.queue.submit(keys, priority(tier), expires=tiers[tier].refresh)  # type: ignore[arg-type]
        return queued

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again next tick")
            await asyncio.sleep(self.tick_seconds)
