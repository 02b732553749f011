"""The open-loop load generator: one scheduler loop sleeps until the next send time and writes
the request, whether or not earlier ones have come back. `Generators` runs it in N processes,
each sending every Nth request of one schedule from one shared start time, and merges what
they saw.

On two cores shared with the service, the world and anvil, a woken generator can wait a whole
scheduler tick (4-6 ms) for a CPU, so it asks for real-time round-robin priority when allowed
(it sleeps between sends, and the kernel keeps 5% of each second for others anyway).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import time
from collections.abc import Callable

from pricefeed.bench.client import Client, Job, Record, loopback_sources, request_bytes
from pricefeed.bench.schedule import Ask

READY_TIMEOUT = 60.0  # seconds for a generator process to start and open its connections


class Generators:
    """`count` generator processes sharing `asks`; stopped (by their handles) on exit."""

    def __init__(
        self,
        host: str,
        port: int,
        asks: list[Ask],
        count: int,
        timeout: float,
        realtime: bool = True,
        clients: int = 1,
    ):
        self.timeout = timeout
        self.priorities: list[str] = []  # what each process got: "SCHED_RR", "nice -10", ...
        self.cpu_seconds: list[float] = []  # CPU time each process used
        context = multiprocessing.get_context("spawn")  # no forked copy of our threads or loops
        self.pipes = []
        self.processes = []
        for k in range(count):
            share = [(i, a) for i, a in enumerate(asks) if i % count == k]
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_generator_main,
                args=(theirs, host, port, share, timeout, realtime, clients),
                name=f"bench-generator-{k}",
                daemon=True,
            )
            self.pipes.append(ours)
            self.processes.append(process)

    def __enter__(self) -> Generators:
        for process in self.processes:
            process.start()
        for pipe in self.pipes:
            if not pipe.poll(READY_TIMEOUT):
                self.__exit__()
                raise RuntimeError("a generator process did not get ready")
            self.priorities.append(pipe.recv())
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(10)

    def start(self, delay: float = 0.5) -> float:
        """Tell every generator the wall time of the run's time 0; returns it."""
        epoch = time.time() + delay
        for pipe in self.pipes:
            pipe.send(epoch)
        return epoch

    def records(self, grace: float = 30.0) -> list[Record]:
        """Every request's record, in schedule order, once all generators have drained."""
        merged: list[Record] = []
        for pipe in self.pipes:
            if not pipe.poll(self.timeout + grace):
                raise RuntimeError("a generator process did not report")
            records, cpu = pipe.recv()
            merged += records
            self.cpu_seconds.append(round(cpu, 2))
        return sorted(merged, key=lambda r: r.index)


def _generator_main(pipe, host, port, share: list[tuple[int, Ask]], timeout, realtime, clients):
    jobs = [Job(i, a.at, request_bytes(host, port, a.path())) for i, a in share]
    sources = loopback_sources(clients) if clients > 1 else None
    gc.freeze()  # the schedule is long-lived: keep it out of the collections during the run
    gc.disable()  # and no full collection over ten thousand connections mid-run (tens of ms)
    priority = _raise_priority() if realtime else "normal"
    records = asyncio.run(
        _open_loop(pipe, Client(host, port, 0.0, timeout, sources=sources), jobs, priority)
    )
    pipe.send((records, time.process_time()))


def _raise_priority() -> str:
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
        return "SCHED_RR"
    except (AttributeError, PermissionError, OSError):
        pass
    try:
        os.nice(-10)
        return "nice -10"
    except (AttributeError, PermissionError, OSError):
        return "normal"


async def _open_loop(pipe, client: Client, jobs: list[Job], priority: str):
    await client.warm()
    pipe.send(priority)
    epoch = await asyncio.to_thread(pipe.recv)
    client.start = time.perf_counter() + (epoch - time.time())
    sweeper = asyncio.create_task(client.sweep())
    try:
        await _keep_schedule(client.start, jobs, client.send)
        await client.drain(client.timeout + 5)
    finally:
        sweeper.cancel()
        client.close()
    return client.records


async def _keep_schedule(start: float, jobs, send: Callable) -> None:
    """The one scheduler loop: each job is handed to `send` at (or just after) its time."""
    for job in jobs:
        delay = start + job.scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        send(job)
