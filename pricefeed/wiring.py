"""The service's parts, built one way for the web process, the worker and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.rpc.redact import install_log_redaction
from pricefeed.config import Settings
from pricefeed.jobs.queue import RefreshQueue
from pricefeed.metrics import Metrics
from pricefeed.serving.feed import Feed
from pricefeed.serving.quotas import Quotas
from pricefeed.store import Store


@dataclass
class Parts:
    settings: Settings
    engine: QuoteEngine
    store: Store
    queue: RefreshQueue
    metrics: Metrics
    quotas: Quotas
    feed: Feed


def build(
    settings: Settings,
    queue_immediate: bool = False,
    clock: Callable[[], float] = time.time,
) -> Parts:
    """Engine, store, queue and feed on `settings`; nothing is opened or started yet.
    `clock` stamps quotes (tests move it); `queue_immediate` runs refresh jobs inline."""
    install_log_redaction()
    engine = QuoteEngine(settings, clock=clock)
    db = settings.database
    store = Store(db.url, db.busy_timeout_ms, db.min_free_mb)
    queue = RefreshQueue(settings.queue, store, immediate=queue_immediate)
    metrics = Metrics()
    quotas = Quotas(settings.server)
    feed = Feed(engine, store, settings.cache, metrics, submit=queue.submit, quotas=quotas)
    return Parts(settings, engine, store, queue, metrics, quotas, feed)
