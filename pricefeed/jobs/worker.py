"""`pricefeed worker`: the refresh consumer and tier scheduler as a process of their own.

It shares the store and the queue files with the web process (started with
`queue.in_process = false`). Huey's consumer owns the main thread and the signals; the feed's
async work runs on an event loop in a second thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from pricefeed.config import Settings
from pricefeed.jobs.queue import run_on_loop
from pricefeed.jobs.scheduler import Scheduler
from pricefeed.wiring import build

log = logging.getLogger(__name__)


def main(settings: Settings) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pricefeed-loop", daemon=True)
    thread.start()

    def on_loop(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    parts = build(settings)
    engine, store, queue, feed = parts.engine, parts.store, parts.queue, parts.feed
    on_loop(store.open())
    on_loop(feed.start())
    queue.bind(run_on_loop(loop, feed.refreshes.refresh))
    scheduler = asyncio.run_coroutine_threadsafe(
        Scheduler(
            store, queue, settings.cache.recent, per_pair=settings.cache.amounts_per_pair
        ).run(),
        loop,
    )
    log.info("pricefeed worker: %d threads on %s", settings.queue.workers, settings.queue.path)
    try:
        queue.consumer().run()  # until SIGINT/SIGTERM
    finally:
        scheduler.cancel()
        on_loop(engine.close())
        on_loop(store.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
