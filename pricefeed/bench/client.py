"""A lean HTTP/1.1 keep-alive client for load generation: each request is written on an idle
connection the moment it is sent (so the send time is the write's), one request per connection
at a time, answers parsed from the raw bytes.

A full client (httpx) costs a task, a pool lock and several layers per request: at a few hundred
requests a second its own work delays the schedule it is meant to keep.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import NamedTuple

import msgspec


class Record(NamedTuple):
    """One request as the client saw it; times in seconds from the start of the run."""

    index: int
    scheduled: float
    sent: float
    latency: float | None  # None when no answer came (transport error)
    status: int  # 0: no HTTP answer
    cache: str | None = None
    tier: int | None = None
    age_ms: int | None = None
    error: str | None = None  # the body's error code, or the transport error


class Job:
    __slots__ = ("index", "payload", "scheduled", "sent")

    def __init__(self, index: int, scheduled: float, payload: bytes):
        self.index, self.scheduled, self.payload, self.sent = index, scheduled, payload, 0.0


class _ErrorDetail(msgspec.Struct):
    code: str = "?"


class _Answer(msgspec.Struct):
    """The fields of a /price answer (or of an error body) that the bench records."""

    cache: str | None = None
    tier: int | None = None
    ageMs: int | None = None
    error: _ErrorDetail | None = None


_decode = msgspec.json.Decoder(_Answer).decode


def loopback_sources(count: int) -> list[str]:
    """`count` addresses of 127/8 to connect from: a server that tells clients apart by their
    address (quotas, budgets) sees `count` clients."""
    return [f"127.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}" for k in range(1, count + 1)]


def request_bytes(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


def parse_response(buffer: bytearray) -> tuple[int, bytes, bool, int] | None:
    """(status, body, keep-alive, bytes used) of the first whole response in `buffer`."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", ""):
        whole = _dechunk(buffer, start)
        if whole is None:
            return None
        body, used = whole
    else:
        used = start + int(headers.get("content-length", "0"))
        if len(buffer) < used:
            return None
        body = bytes(buffer[start:used])
    return status, body, headers.get("connection") != "close", used


def _dechunk(buffer: bytearray, at: int) -> tuple[bytes, int] | None:
    body = bytearray()
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            return None
        size = int(bytes(buffer[at:eol]).split(b";")[0], 16)
        if len(buffer) < eol + 2 + size + 2:
            return None
        body += buffer[eol + 2 : eol + 2 + size]
        at = eol + 2 + size + 2
        if size == 0:  # no trailers from the servers we load
            return bytes(body), at


class Link(asyncio.Protocol):
    """One keep-alive connection, carrying at most one request at a time."""

    def __init__(self, client: Client):
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.job: Job | None = None
        self.idle_since = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.client.arrived(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        whole = parse_response(self.buffer)
        if whole is None:
            return
        status, body, keep_alive, used = whole
        del self.buffer[:used]
        job, self.job = self.job, None
        if job is not None:
            self.client.answered(self, job, status, body, keep_alive)

    def connection_lost(self, exc) -> None:
        self.client.lost(self)


class Client:
    """Connections to one server, opened ahead of need so a send rarely waits for a connect."""

    def __init__(
        self,
        host: str,
        port: int,
        start: float,
        timeout: float,
        spare: int = 32,
        most: int = 10_000,
        sources: list[str] | None = None,
    ):
        self.host, self.port = host, port
        self.sources = sources or []  # local addresses, one per connection in turn
        self._next_source = 0
        self.start = start  # perf_counter at the run's time 0
        self.timeout = timeout
        self.spare = spare
        self.most = most  # connections; past it a request waits for one (and its lag shows)
        self.idle_limit = 4.0  # seconds; servers close idle connections after 5 (uvicorn)
        self.idle: list[Link] = []  # a stack: the warmest connection is reused first
        self.busy: set[Link] = set()
        self.in_flight: deque[tuple[Link, Job]] = deque()  # in send order, for the timeouts
        self.waiting: deque[Job] = deque()  # sent with no connection free: they go on connect
        self.opening = 0
        self._connecting: set[asyncio.Task] = set()
        self.records: list[Record] = []

    async def warm(self) -> None:
        for _ in range(self.spare):
            self.opening += 1
        await asyncio.gather(*(self._connect() for _ in range(self.spare)))

    def send(self, job: Job) -> None:
        link = self.idle.pop() if self.idle else None
        if link is None:
            self.waiting.append(job)
        else:
            self._write(link, job)
        self._top_up()

    def pending(self) -> int:
        return len(self.busy) + len(self.waiting)

    async def sweep(self) -> None:
        """Forever: time out requests, and close connections idle long enough for the server
        to be closing them too (a request written then would be lost)."""
        while True:
            await asyncio.sleep(0.25)
            now = time.perf_counter()
            # sent in order, so the overdue are at the left; answered ones are skipped
            while self.in_flight and now - self.in_flight[0][1].sent > self.timeout:
                link, job = self.in_flight.popleft()
                if link.job is job:
                    self.busy.discard(link)
                    self._fail(job, "timeout")
                    link.job = None
                    link.transport.abort()
            while self.idle and now - self.idle[0].idle_since > self.idle_limit:
                self.idle.pop(0).transport.close()
            self._top_up()

    async def drain(self, seconds: float) -> None:
        """Until every request sent has an answer (or `seconds` pass: the rest are failed)."""
        deadline = time.monotonic() + seconds
        while self.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for link in list(self.busy):
            self.busy.discard(link)
            self._fail(link.job, "unfinished")
            link.job = None  # so closing it does not fail the job a second time
        while self.waiting:
            self._fail(self.waiting.popleft(), "unfinished")

    def close(self) -> None:
        for link in [*self.idle, *self.busy]:
            link.transport.abort()

    def arrived(self, link: Link) -> None:
        if self.waiting:
            self._write(link, self.waiting.popleft())
        else:
            self._rest(link)

    def answered(self, link: Link, job: Job, status: int, body: bytes, keep_alive: bool) -> None:
        self.busy.discard(link)
        latency = time.perf_counter() - job.sent
        self.records.append(self._record(job, latency, status, body))
        if not keep_alive:
            link.transport.close()
        elif self.waiting:
            self._write(link, self.waiting.popleft())
        else:
            self._rest(link)

    def lost(self, link: Link) -> None:
        self.busy.discard(link)
        if link in self.idle:
            self.idle.remove(link)
        if link.job is not None:
            self._fail(link.job, "closed")
            link.job = None

    def _record(self, job: Job, latency: float, status: int, body: bytes) -> Record:
        try:
            a = _decode(body)
        except msgspec.DecodeError:
            return self._base(job, latency, status, error="notJson")
        error = a.error.code if a.error is not None else None
        return self._base(job, latency, status, a.cache, a.tier, a.ageMs, error)

    def _base(self, job: Job, latency, status, cache=None, tier=None, age_ms=None, error=None):
        sent = job.sent - self.start if job.sent else None
        return Record(job.index, job.scheduled, sent, latency, status, cache, tier, age_ms, error)

    def _fail(self, job: Job, why: str) -> None:
        self.records.append(self._base(job, None, 0, error=why))

    def _write(self, link: Link, job: Job) -> None:
        job.sent = time.perf_counter()
        link.job = job
        self.busy.add(link)
        self.in_flight.append((link, job))
        link.transport.write(job.payload)

    def _rest(self, link: Link) -> None:
        link.idle_since = time.perf_counter()
        self.idle.append(link)

    def _top_up(self) -> None:
        short = self.spare - len(self.idle) - self.opening + len(self.waiting)
        room = self.most - len(self.idle) - len(self.busy) - self.opening
        for _ in range(max(0, min(short, room))):
            self.opening += 1  # now, not when the task runs: the next send counts it
            task = asyncio.get_running_loop().create_task(self._connect())
            self._connecting.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._connecting.discard)

    async def _connect(self) -> None:
        local = None
        if self.sources:
            local = (self.sources[self._next_source % len(self.sources)], 0)
            self._next_source += 1
        try:
            await asyncio.get_running_loop().create_connection(
                lambda: Link(self), self.host, self.port, local_addr=local
            )
        except OSError as e:
            if self.waiting:
                self._fail(self.waiting.popleft(), f"connect: {type(e).__name__}")
        finally:
            self.opening -= 1
