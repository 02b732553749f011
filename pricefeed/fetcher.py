"""Upstream fetches: one in flight per key, and keys asked for together share a multicall.

Callers that ask within the same `window` (a couple of milliseconds) for quotes on one chain
are batched into one `quote_many`; a caller asking for a key already in flight waits for that
fetch instead of starting another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pricefeed.engine import QuoteEngine
from pricefeed.quoter import Quote, QuoteRequest
from pricefeed.store import QuoteKey


class Fetcher:
    def __init__(
        self,
        engine: QuoteEngine,
        on_quotes: Callable[[list[Quote]], object],
        window: float = 0.002,
    ):
        self.engine = engine
        self.on_quotes = on_quotes  # awaited with every batch of fresh quotes
        self.window = window
        self._inflight: dict[QuoteKey, asyncio.Future] = {}
        self._pending: dict[str, list[tuple[QuoteKey, QuoteRequest]]] = {}
        self._running: set[asyncio.Task] = set()
        self.upstream_quotes = 0  # quotes asked of the chain, for metrics and tests

    def fetch(self, key: QuoteKey, request: QuoteRequest) -> asyncio.Future:
        """A future for the quote of `key`: the one in flight, or a new one."""
        future = self._inflight.get(key)
        if future is not None:
            return future
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._inflight[key] = future
        batch = self._pending.setdefault(key[0], [])
        batch.append((key, request))
        if len(batch) == 1:
            asyncio.get_running_loop().call_later(self.window, self._start, key[0])
        return future

    def _start(self, chain: str) -> None:
        batch = self._pending.pop(chain, [])
        if batch:
            task = asyncio.ensure_future(self._run(chain, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, chain: str, batch: list[tuple[QuoteKey, QuoteRequest]]) -> None:
        quoter = self.engine.quoter(self.engine.chains.get(chain))
        self.upstream_quotes += len(batch)
        try:
            results = await quoter.quote_many([r for _, r in batch])
            fresh = [q for q in results if isinstance(q, Quote)]
            if fresh:
                await self.on_quotes(fresh)  # type: ignore[misc]
        except Exception as e:  # every waiter of this batch learns of it
            results = [e] * len(batch)
        for (key, _), result in zip(batch, results, strict=True):
            future = self._inflight.pop(key)
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def _retrieve(future: asyncio.Future) -> None:
    """Mark an exception as seen: a waiter that timed out must not leave a warning behind."""
    if not future.cancelled():
        future.exception()
