"""Quotes computed from the chain's held pool state: one in flight per key, and keys asked for
together share the loading of the pools they need (one round of multicalls).

Callers that ask within the same `window` (a couple of milliseconds) for quotes on one chain
are batched into one `quote_many`, and while a batch is out, everything asked of that chain
waits to go together in the next one: however many pairs arrive, a chain has at most one
batch of look-ups and loads in flight and one gathering. A caller asking for a key already in
flight waits for that fetch instead of starting another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pricefeed.chain.state import ChainState
from pricefeed.model import Quote, QuoteKey, QuoteRequest

Group = tuple[ChainState, bool]


class Fetcher:
    def __init__(self, on_quotes: Callable[[list[Quote]], object], window: float = 0.002):
        self.on_quotes = on_quotes  # awaited with every batch of fresh quotes
        self.window = window
        self._inflight: dict[QuoteKey, asyncio.Future] = {}
        # by chain, and whether the batch insists on the head (refreshes) or not (look-ups)
        self._pending: dict[Group, list[tuple[QuoteKey, QuoteRequest, float]]] = {}
        self._running: dict[Group, asyncio.Task] = {}  # the batch out, per group
        self.upstream_quotes = 0  # quotes asked of the chain, for metrics and tests

    def fetch(
        self,
        state: ChainState,
        key: QuoteKey,
        request: QuoteRequest,
        fresh_within: float | None = None,
        strict: bool = False,
    ) -> asyncio.Future:
        """A future for the quote of `key` on `state`'s chain: the one in flight, or a new one,
        from state that was the head within `fresh_within` seconds if the chain can be reached
        (`strict`: else the chain's error, rather than an answer from older state)."""
        future = self._inflight.get(key)
        if future is not None:
            return future
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._inflight[key] = future
        group = (state, strict)
        batch = self._pending.setdefault(group, [])
        batch.append((key, request, fresh_within if fresh_within is not None else float("inf")))
        if len(batch) == 1 and group not in self._running:
            asyncio.get_running_loop().call_later(self.window, self._start, group)
        return future

    def _start(self, group: Group) -> None:
        batch = self._pending.pop(group, [])
        if batch and group not in self._running:
            task = asyncio.ensure_future(self._run(*group, batch))
            self._running[group] = task
            task.add_done_callback(lambda _: self._done(group))
        elif batch:  # a batch went out meanwhile: these go after it
            self._pending[group] = batch

    def _done(self, group: Group) -> None:
        del self._running[group]
        if group in self._pending:  # what gathered while the batch was out
            self._start(group)

    async def _run(
        self, state: ChainState, strict: bool, batch: list[tuple[QuoteKey, QuoteRequest, float]]
    ) -> None:
        self.upstream_quotes += len(batch)
        try:
            fresh_within = min(f for _, _, f in batch)
            results = await state.quote_many([r for _, r, _ in batch], fresh_within, strict)
            fresh = [q for q in results if isinstance(q, Quote)]
            if fresh:
                await self.on_quotes(fresh)  # type: ignore[misc]
        except Exception as e:  # every waiter of this batch learns of it
            results = [e] * len(batch)
        for (key, _, _), result in zip(batch, results, strict=True):
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
