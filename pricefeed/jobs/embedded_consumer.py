"""A Huey consumer that runs inside the web process: the one module that leans on huey internals.

Huey's documented consumer options cannot leave the process's signal handlers alone, and its
idle worker pauses on the stop flag only. So this module overrides two of huey's own methods:
the private `Consumer._set_signal_handlers` (the web server keeps SIGINT/SIGTERM and stops the
consumer itself) and `Worker.sleep` (what `Worker.loop` calls when the queue is empty).
tests/test_embedded_consumer.py fails when huey renames or reshapes either.
"""

from __future__ import annotations

import threading

from huey.consumer import Consumer, Worker


class WakeableWorker(Worker):
    """A worker whose idle pause ends early when a job is queued in this process, or at stop."""

    wake: threading.Event

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        # left set once stopping, so every idle worker sees the stop flag at once
        if self.wake.wait(self.delay) and not self.stop_flag.is_set():
            self.wake.clear()
        self.delay *= self.backoff


class EmbeddedConsumer(Consumer):
    """A Huey consumer beside a web server: the server keeps its signal handlers, and jobs
    queued by the server (`wake.set()`) wake the workers instead of waiting for their next poll."""

    def __init__(self, huey, wake: threading.Event, **options):
        self.wake = wake
        self.worker_class = type("Worker", (WakeableWorker,), {"wake": wake})
        super().__init__(huey, **options)

    def _set_signal_handlers(self) -> None:
        """Nothing: the web server owns the signals, and stops this consumer itself."""

    def stop(self, graceful: bool = False) -> None:
        self.stop_flag.set()
        self.wake.set()  # idle workers stop now, not after their pause
        super().stop(graceful=graceful)
