"""The consumer inside the web process leaves the process's signal handlers alone, wakes when a
job is queued and stops at once; the huey internals it overrides are still there as it expects."""

from __future__ import annotations

import inspect
import logging
import signal
import threading
import time

from huey import MemoryHuey
from huey.consumer import Consumer, Worker

from pricefeed.jobs.embedded_consumer import EmbeddedConsumer, WakeableWorker

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
IDLE = {"workers": 2, "periodic": False, "check_worker_health": False}
LONG = {"initial_delay": 600.0, "max_delay": 600.0}  # an idle worker would pause 10 minutes


def handlers() -> dict:
    return {signum: signal.getsignal(signum) for signum in SIGNALS}


def test_the_huey_internals_it_overrides_are_still_there():
    assert Consumer.worker_class is Worker
    assert list(inspect.signature(Consumer._set_signal_handlers).parameters) == ["self"]
    assert list(inspect.signature(Worker.sleep).parameters) == ["self"]
    assert list(inspect.signature(Worker.loop).parameters) == ["self", "now"]
    consumer = EmbeddedConsumer(MemoryHuey(), threading.Event(), **IDLE)
    worker = consumer.worker_threads[0][0]
    assert isinstance(worker, WakeableWorker)
    assert (worker.delay, worker.max_delay, worker.backoff) == (0.1, 10.0, 1.15)
    assert worker.stop_flag is consumer.stop_flag


def test_starting_in_the_main_thread_leaves_the_signal_handlers_alone():
    assert threading.current_thread() is threading.main_thread()
    before = handlers()
    embedded = EmbeddedConsumer(MemoryHuey(), threading.Event(), **IDLE)
    embedded.start()
    try:
        kept = handlers()
    finally:
        embedded.stop(graceful=True)
    plain = Consumer(MemoryHuey(), **IDLE)  # huey's own takes them: the override is needed
    plain.start()
    try:
        taken = handlers()
    finally:
        plain.stop(graceful=True)
        for signum, handler in before.items():
            signal.signal(signum, handler)

    assert kept == before
    assert taken != before


def test_a_queued_job_wakes_an_idle_worker_before_its_next_poll():
    huey = MemoryHuey(results=False)
    ran = threading.Event()
    job = huey.task()(ran.set)
    wake = threading.Event()
    consumer = EmbeddedConsumer(huey, wake, **IDLE, **LONG)
    consumer.start()
    try:
        # the workers find the queue empty and pause (for 10 minutes); a box too busy to get
        # there in 0.5 s has them take the job at their first poll: a pass that proves less,
        # never a failure, so the sleep is a precondition, not a bound
        time.sleep(0.5)
        job()
        wake.set()
        woken = ran.wait(60)
    finally:
        consumer.stop(graceful=True)

    assert woken


def test_stopping_ends_idle_workers_at_once(caplog):
    consumer = EmbeddedConsumer(MemoryHuey(), threading.Event(), **IDLE, **LONG)
    consumer.shutdown_timeout = 60.0
    consumer.start()
    time.sleep(0.5)  # the workers find the queue empty and pause
    with caplog.at_level(logging.INFO, logger="huey.consumer"):
        consumer.stop(graceful=True)

    assert "All workers have stopped." in caplog.text
    assert "Shutdown timeout" not in caplog.text
    assert not any(thread.is_alive() for _, thread in consumer.worker_threads)
