"""An endpoint's rate limit as a budget, spent in order of priority: the follower's rounds
first (every held pool depends on them), then loads of pairs someone is waiting for, then
checks (shadow quotes, consistency samples) that can wait or be skipped.

The rate itself is aiolimiter's leaky bucket; this only decides who goes next when the bucket
is empty. The priority travels with the task (a context variable), so the code that makes
the request does not need to pass it down through every layer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aiolimiter import AsyncLimiter

FOLLOW, LOAD, CHECK = 0, 1, 2
PRIORITIES = {FOLLOW: "follow", LOAD: "load", CHECK: "check"}
_priority: ContextVar[int] = ContextVar("rpc_priority", default=LOAD)


@contextmanager
def spending(priority: int) -> Iterator[None]:
    """RPC requests made inside (and in tasks started inside) spend at this priority."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class Budget:
    def __init__(self, rate: float):
        self.rate = rate  # requests per second
        self._limiter = AsyncLimiter(rate, 1)
        self._waiting: list[tuple[int, int, asyncio.Future]] = []  # a heap: priority, arrival
        self._order = itertools.count()
        self._pump: asyncio.Task | None = None
        self.spent: Counter[str] = Counter()  # requests let through, by priority name
        self._full_since: float | None = None  # monotonic: when requests began to wait
        self.full_seconds = 0.0  # time spent with requests waiting, before the current spell

    async def spend(self) -> None:
        """Wait for this request's turn: at once while the bucket has room and nobody waits."""
        priority = _priority.get()
        if self._waiting or not self._limiter.has_capacity():
            await self._wait(priority)
        else:
            await self._limiter.acquire()
        self.spent[PRIORITIES[priority]] += 1

    async def _wait(self, priority: int) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        if self._full_since is None:
            self._full_since = time.monotonic()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.ensure_future(self._let_through())
        await future  # a cancelled waiter leaves its future cancelled: it is skipped

    async def _let_through(self) -> None:
        while self._waiting:
            await self._limiter.acquire()
            while self._waiting:
                _, _, future = heapq.heappop(self._waiting)
                if not future.done():
                    future.set_result(None)
                    break
        if self._full_since is not None:
            self.full_seconds += time.monotonic() - self._full_since
            self._full_since = None

    def waiting(self) -> dict[str, int]:
        """Requests waiting for their turn, by priority name."""
        counts = Counter(PRIORITIES[p] for p, _, f in self._waiting if not f.done())
        return {name: counts.get(name, 0) for name in PRIORITIES.values()}

    def full_for(self) -> float:
        """Seconds requests have been waiting without a break (0 when none wait)."""
        return 0.0 if self._full_since is None else time.monotonic() - self._full_since

    def busy(self) -> bool:
        return bool(self._waiting) or not self._limiter.has_capacity()
