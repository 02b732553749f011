"""A chain's RPC endpoints, used in order of health with hedged failover and retry rounds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import stamina

from pricefeed.chain.rpc.endpoint import CallError, Endpoint
from pricefeed.config import RpcSettings
from pricefeed.errors import UpstreamUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Block:
    number: int
    hash: str

    @classmethod
    def of(cls, raw: dict) -> Block:
        """A block as eth_getBlockByNumber answers it (hex number)."""
        return cls(int(raw["number"], 16), raw["hash"])


class _RoundFailed(Exception):
    pass


class RpcPool:
    def __init__(self, chain: str, urls: list[str], settings: RpcSettings, head_ttl: float = 2.0):
        self.chain = chain
        self.settings = settings
        self.head_ttl = head_ttl  # seconds between head probes of every endpoint
        self._heads_at = -1e18
        self.endpoints = [Endpoint(url, settings) for url in urls]
        for i, e in enumerate(self.endpoints):  # labels show hosts only: keep them apart
            if any(e.label == other.label for other in self.endpoints[:i]):
                e.label = f"{e.label} #{i + 1}"
        self._stragglers: set[asyncio.Task] = set()

    def best_head(self) -> int | None:
        heads = [e.head for e in self.endpoints if e.head is not None]
        return max(heads) if heads else None

    def is_lagging(self, endpoint: Endpoint) -> bool:
        best = self.best_head()
        if best is None or endpoint.head is None:
            return False
        return best - endpoint.head > self.settings.max_lag_blocks

    def busy(self) -> bool:
        """Whether every usable endpoint's rate budget is spent, or has requests waiting."""
        return all(e.budget.busy() for e in self.endpoints if e.can_try())

    def ranked(self) -> list[Endpoint]:
        """Usable endpoints, best first: in step with the head, breaker closed, fast, few errors."""
        usable = [e for e in self.endpoints if e.can_try()]
        return sorted(usable, key=lambda e: (self.is_lagging(e), e.state != "closed", e.score()))

    async def request(self, method: str, params: list) -> Any:
        """Answer from the healthiest endpoint; raise UpstreamUnavailable when none can."""
        try:
            async for attempt in stamina.retry_context(
                on=_RoundFailed,
                attempts=self.settings.retries,
                timeout=self.settings.deadline,
                wait_initial=0.1,
                wait_max=2.0,
                wait_jitter=0.5,
            ):
                with attempt:
                    return await self._round(method, params)
        except _RoundFailed as e:
            raise UpstreamUnavailable(
                f"{self.chain}: no RPC endpoint answered", detail=f"{method}: {e}"
            ) from None
        raise AssertionError("unreachable")

    async def _round(self, method: str, params: list) -> Any:
        """One pass over the endpoints. The next one is asked when the current one fails, or
        when it has not answered within `hedge_after`; the first good answer wins."""
        queue = iter(self.ranked())
        pending: dict[asyncio.Task, Endpoint] = {}
        errors: list[str] = []

        def ask_next() -> bool:
            endpoint = next(queue, None)
            if endpoint is None:
                return False
            pending[asyncio.ensure_future(endpoint.request(method, params))] = endpoint
            return True

        if not ask_next():
            raise _RoundFailed("every endpoint's circuit breaker is open")
        while pending:
            done, _ = await asyncio.wait(
                pending, timeout=self.settings.hedge_after, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                for endpoint in pending.values():  # its latency is at least this much
                    endpoint.latency.add(self.settings.hedge_after)
                ask_next()  # hedge: the current endpoints are slow
                continue
            for task in done:
                pending.pop(task)
                error = task.exception()
                if error is None:
                    self._let_finish(pending)
                    return task.result()
                if isinstance(error, CallError):
                    self._let_finish(pending)
                    raise error
                errors.append(str(error))
                log.warning("rpc %s %s failed: %s", self.chain, method, error)
                ask_next()
        raise _RoundFailed("; ".join(errors) or "no endpoint could be asked")

    def _let_finish(self, pending: Iterable[asyncio.Task]) -> None:
        """Slower requests run to their own timeout, so their endpoint's health is recorded."""
        for task in pending:
            if task.done():
                self._forget(task)
                continue
            self._stragglers.add(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        self._stragglers.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a straggler's failure is already in its health

    async def latest_block(self) -> Block:
        """The head block, from the best endpoint once every endpoint's head has been asked."""
        await self._refresh_heads()
        return Block.of(await self.request("eth_getBlockByNumber", ["latest", False]))

    async def _refresh_heads(self) -> None:
        """Ask every endpoint for its head once per `head_ttl`, so laggards are demoted.

        Only the very first time is waited for (up to `hedge_after`); later probes run in the
        background and their answers rank the endpoints for the requests after them.
        """
        now = time.monotonic()
        if now - self._heads_at < self.head_ttl:
            return
        self._heads_at = now
        probes = [
            asyncio.ensure_future(e.request("eth_blockNumber", []))
            for e in self.endpoints
            if e.can_try()
        ]
        if probes and self.best_head() is None:
            await asyncio.wait(probes, timeout=self.settings.hedge_after)
        self._let_finish(probes)

    async def close(self) -> None:
        for task in list(self._stragglers):
            task.cancel()
        await asyncio.gather(*self._stragglers, return_exceptions=True)
        for endpoint in self.endpoints:
            await endpoint.close()
