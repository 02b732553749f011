"""This process's own background work, through a Huey queue of its own, by priority.

Re-ranking tiers, pre-warming rising pairs, writing demand and computed quotes to the store,
pruning it and sampling the metrics all work on this process's memory (the demand counts, the
held state, the counters), so they go through an in-memory Huey consumed by a thread of this
process, also when refresh jobs go to a separate worker. Huey's periodic tasks run at most once
a minute, and these are due every few seconds, so a beat queues each job when its interval has
passed and it is neither queued nor running. A job runs on the event loop, where the state is.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from huey import MemoryHuey

from pricefeed.errors import PricefeedError
from pricefeed.jobs.embedded_consumer import EmbeddedConsumer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds between runs
    priority: int  # higher first, when several are due at once
    run: Callable[[], Awaitable[object]]
    first: float | None = None  # seconds after start of the first run (default: `every`)


class Background:
    def __init__(self, jobs: list[Job], tick: float = 0.25, timeout: float = 300.0):
        self.jobs = {job.name: job for job in jobs}
        self.tick = tick
        self.timeout = timeout  # a job still running after this is given up on (and logged)
        self.huey = MemoryHuey("pricefeed-background", results=False)
        self._task = self.huey.task(name="background")(self._execute)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._busy: set[str] = set()  # queued or running
        self._consumer: EmbeddedConsumer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ran: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.recent: deque[str] = deque(maxlen=100)  # the jobs in the order they ran

    def start(self) -> None:
        """The consumer thread; jobs run on the calling (running) event loop."""
        self._loop = asyncio.get_running_loop()
        self._consumer = EmbeddedConsumer(
            self.huey,
            self._wake,
            workers=1,  # one at a time: the loop runs them anyway, and order is by priority
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.15,
            max_delay=1.0,
            check_worker_health=False,
        )
        self._consumer.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._consumer is not None:
            self._consumer.shutdown_timeout = timeout
            self._consumer.stop(graceful=True)
            self._consumer = None

    async def run(self) -> None:
        """The beat: queue each job when due, until cancelled."""
        started = time.monotonic()
        due = {
            name: started + (job.first if job.first is not None else job.every)
            for name, job in self.jobs.items()
        }
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            for name, job in self.jobs.items():
                if now >= due[name] and self.queue(name):
                    due[name] = now + job.every

    def queue(self, name: str) -> bool:
        """Queue the job unless it is queued or running already; whether it was."""
        with self._lock:
            if name in self._busy:
                return False
            self._busy.add(name)
        self._task(name, priority=self.jobs[name].priority)
        self._wake.set()
        return True

    def waiting(self) -> int:
        return self.huey.pending_count()

    def _execute(self, name: str) -> None:
        """In the consumer's thread: the job's coroutine on the loop, waited for."""
        try:
            future = asyncio.run_coroutine_threadsafe(self.jobs[name].run(), self._loop)  # type: ignore[arg-type]
            future.result(timeout=self.timeout)
            self.ran[name] += 1
        except PricefeedError as e:  # the store or the chain out of reach: said, not traced
            self.failed[name] += 1
            log.error("background job %s failed, runs again when due: %s", name, e.message)
        except Exception:
            self.failed[name] += 1
            log.exception("background job %s failed; it runs again when next due", name)
        finally:
            self.recent.append(name)
            with self._lock:
                self._busy.discard(name)
