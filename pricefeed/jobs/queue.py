"""The refresh queue: Huey with its SQLite storage, its own file, priorities and expiry.

Jobs carry keys only. Whoever consumes the queue binds a runner that fetches those keys
again; a job that is lost changes nothing, because the scheduler re-derives due work from the
store and a claim on a quote runs out by itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from itertools import groupby
from pathlib import Path

from huey import SqliteHuey, signals
from huey.consumer import Consumer

from pricefeed.config import QueueSettings
from pricefeed.jobs.embedded_consumer import EmbeddedConsumer
from pricefeed.model import QuoteKey
from pricefeed.store import Store
from pricefeed.store.database import low_on_disk

log = logging.getLogger(__name__)
Runner = Callable[[list[QuoteKey], float], int]


def run_on_loop(
    loop: asyncio.AbstractEventLoop,
    refresh: Callable[[list[QuoteKey], float], Awaitable[int]],
) -> Runner:
    """A runner for Huey's worker threads: the fetch itself runs on `loop`, where the RPC pool
    and the cache live."""

    def run(keys: list[QuoteKey], fresh_within: float) -> int:
        job = refresh(keys, fresh_within)
        return asyncio.run_coroutine_threadsafe(job, loop).result(timeout=120)  # type: ignore[arg-type]

    return run


class RefreshQueue:
    def __init__(
        self, settings: QueueSettings, store: Store, batch: int = 50, immediate: bool = False
    ):
        self.settings = settings
        self.store = store
        self.batch = batch
        Path(settings.path).parent.mkdir(parents=True, exist_ok=True)
        # results=False: nobody reads a refresh's return value, so none is stored
        self.huey = SqliteHuey(
            "pricefeed", filename=settings.path, results=False, immediate=immediate
        )
        self._refresh = self.huey.task(
            retries=settings.retries,
            retry_delay=settings.retry_delay,
            retry_backoff=2.0,
            name="refresh",
        )(self._execute)
        self._runner: Runner | None = None
        self._consumer: EmbeddedConsumer | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self.active = 0
        self.huey.signal()(self._on_signal)

    def bind(self, runner: Runner) -> None:
        """Jobs run with `runner(keys, fresh_within)` from now on (in the worker threads)."""
        self._runner = runner

    def _execute(self, keys: list, fresh_within: float = 0.0) -> int:
        if self._runner is None:
            raise RuntimeError("no refresh runner is bound to this queue")
        return self._runner([QuoteKey(*k) for k in keys], fresh_within)

    def _on_signal(self, signal: str, task, exc=None) -> None:
        with self._lock:
            if signal == signals.SIGNAL_EXECUTING:
                self.active += 1
            elif signal in (signals.SIGNAL_COMPLETE, signals.SIGNAL_ERROR):
                self.active -= 1
                self.outcomes["completed" if signal == signals.SIGNAL_COMPLETE else "failed"] += 1
            elif signal == signals.SIGNAL_EXPIRED:
                self.outcomes["expired"] += 1

    async def submit(self, keys: list[QuoteKey], priority: int, expires: float) -> int:
        """Claim the keys no job holds, and queue them in batches per chain. Returns how many."""
        if reason := low_on_disk(Path(self.settings.path).resolve().parent, self.store.min_free_mb):
            log.error("refresh not queued: %s", reason)  # the scheduler asks again next tick
            return 0
        now = time.time()
        claimed = await self.store.claim(keys, now + expires, now)
        for _, group in groupby(sorted(claimed), key=lambda k: k.chain):
            keys_of_chain = list(group)
            for i in range(0, len(keys_of_chain), self.batch):
                chunk = [list(k) for k in keys_of_chain[i : i + self.batch]]
                await asyncio.to_thread(  # state within the period will do: its quotes are new
                    self._refresh, chunk, expires, priority=priority, expires=expires
                )
        if claimed:
            self._wake.set()
        return len(claimed)

    def waiting(self) -> int:
        return self.huey.pending_count()

    def _consumer_options(self) -> dict:
        """Thread workers, no periodic tasks, and polls at most `queue.poll` apart when idle."""
        return {
            "workers": self.settings.workers,
            "worker_type": "thread",
            "periodic": False,
            "initial_delay": min(0.05, self.settings.poll),
            "backoff": 1.15,
            "max_delay": self.settings.poll,
        }

    def start_consumer(self) -> None:
        """The consumer inside this (web) process."""
        self._consumer = EmbeddedConsumer(
            self.huey, self._wake, check_worker_health=False, **self._consumer_options()
        )
        self._consumer.start()

    def consumer(self) -> Consumer:
        """A stand-alone consumer for the `pricefeed worker` process (it handles signals)."""
        return Consumer(self.huey, **self._consumer_options())

    def consumer_alive(self) -> bool:
        if self._consumer is None:
            return False
        return all(t.is_alive() for _, t in self._consumer.worker_threads)

    def stop_consumer(self, timeout: float = 10.0) -> None:
        if self._consumer is not None:
            self._consumer.shutdown_timeout = timeout
            self._consumer.stop(graceful=True)
            self._consumer = None
