"""A JSON-RPC proxy in front of a node that counts what passes and injects faults.

Used by the tests (a hung, failing, rate-limited or lagging endpoint) and by benchmarks
(2-5 s of latency per request and a requests-per-second cap, like a distant public endpoint).
A process that does not share the proxy's memory reads its counts at `GET /_proxy/counts` and
clears them with `POST /_proxy/reset`.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiolimiter import AsyncLimiter

from pricefeed.devchain.node import free_port

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class Faults:
    delay: tuple[float, float] = (0.0, 0.0)  # seconds, uniform in [lo, hi]
    hang: bool = False  # never answer
    status: int | None = None  # answer this HTTP status instead of forwarding
    lag: int = 0  # pretend to be this many blocks behind the upstream
    max_log_blocks: int | None = None  # refuse wider eth_getLogs ranges, as providers do
    rate_limit: float | None = None  # requests per second; HTTP 429 beyond it (None: no cap)
    no_logs: bool = False  # a provider without eth_getLogs: "method not found"


class RpcProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int | None = None):
        self.upstream = upstream
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.faults = Faults()
        self.methods: Counter[str] = Counter()  # JSON-RPC methods received
        self.http_requests = 0
        self.refused_logs = 0  # eth_getLogs refused for their range
        self.limited = 0  # requests answered 429 for going over `faults.rate_limit`
        self.largest_body = 0  # bytes of the largest request body received
        self._limiter: AsyncLimiter | None = None  # for faults.rate_limit
        self.timeline: list[tuple[float, float]] = []  # (arrived, answered) of each request
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None

    def start(self) -> RpcProxy:
        self._thread = threading.Thread(
            target=self._serve, name=f"rpcproxy:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError(f"rpc proxy did not start on {self.url}")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def reset_counts(self) -> None:
        self.methods.clear()
        self.http_requests = 0
        self.limited = 0
        self.largest_body = 0
        self.timeline.clear()

    def counts(self) -> dict:
        """What passed since the last reset, as JSON."""
        return {
            "httpRequests": self.http_requests,
            "methods": dict(self.methods),
            "limited": self.limited,
            "refusedLogs": self.refused_logs,
            "largestBodyBytes": self.largest_body,
        }

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # aiohttp refuses bodies over 1 MiB with a 413 by default; the service's batched
        # eth_calls can be larger, and a transparent proxy must not be the one refusing them
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        # registered before the catch-all, which would otherwise forward them to the node
        app.router.add_route("GET", "/_proxy/counts", self._counts)
        app.router.add_route("POST", "/_proxy/reset", self._reset)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        async with aiohttp.ClientSession() as self._session:
            self._started.set()
            await self._stop.wait()
        await runner.cleanup()

    async def _counts(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.counts())

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        self.reset_counts()
        return web.json_response(self.counts())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        try:
            return await self._respond(request)
        finally:
            self.timeline.append((arrived, time.monotonic()))

    def round_trips(self) -> int:
        """The longest run of requests each sent after the one before was answered: how many
        round trips the client waited for, one after the other."""
        depth: list[tuple[float, int]] = []  # (answered, run length ending there)
        for arrived, answered in sorted(self.timeline, key=lambda t: t[1]):
            before = [n for done, n in depth if done <= arrived]
            depth.append((answered, 1 + max(before, default=0)))
        return max((n for _, n in depth), default=0)

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        self.http_requests += 1
        self.largest_body = max(self.largest_body, request.content_length or 0)
        body = await request.json()
        for call in body if isinstance(body, list) else [body]:
            self.methods[call.get("method", "?")] += 1
        f = self.faults
        if f.rate_limit is not None and not await self._within_rate(f.rate_limit):
            self.limited += 1  # refused at once, as a provider's edge does, before any latency
            return web.Response(
                status=429, text="rate limit exceeded", headers={"Retry-After": "1"}
            )
        if f.hang:  # until the proxy stops
            await self._stop.wait()
            return web.Response(status=503, text="proxy stopped")
        if f.delay[1] > 0:
            await asyncio.sleep(random.uniform(*f.delay))
        if f.status is not None:
            return web.Response(status=f.status, text=f"injected {f.status}")
        if isinstance(body, list):
            return web.json_response([await self._answer(c) for c in body])
        return web.json_response(await self._answer(body))

    async def _within_rate(self, rate: float) -> bool:
        """Within `rate` requests a second (aiolimiter's bucket), or refused: never queued."""
        if self._limiter is None or self._limiter.max_rate != rate:
            self._limiter = AsyncLimiter(rate, 1)
        if not self._limiter.has_capacity():
            return False
        await self._limiter.acquire()  # there is room: this does not wait
        return True

    async def _answer(self, call: dict) -> dict:
        if self.faults.no_logs and call.get("method") == "eth_getLogs":
            error = {"code": -32601, "message": "the method eth_getLogs does not exist"}
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": error}
        if (limit := self.faults.max_log_blocks) and call.get("method") == "eth_getLogs":
            query = call["params"][0]
            if int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > limit:
                self.refused_logs += 1
                message = f"eth_getLogs is limited to a {limit} block range"
                error = {"code": -32600, "message": message}
                return {"jsonrpc": "2.0", "id": call.get("id"), "error": error}
        if self.faults.lag:
            visible = int(await self._forward_result("eth_blockNumber", []), 16) - self.faults.lag
            if call.get("method") == "eth_blockNumber":
                return {"jsonrpc": "2.0", "id": call.get("id"), "result": hex(visible)}
            call_id, call = call.get("id"), self._as_of(call, visible)
            if call is None:
                error = {"code": -32000, "message": "header not found"}
                return {"jsonrpc": "2.0", "id": call_id, "error": error}
        async with self._session.post(self.upstream, json=call) as resp:
            return await resp.json()

    @staticmethod
    def _as_of(call: dict, visible: int) -> dict | None:
        """`call` as a node whose head is block `visible` would take it; None if it can't."""
        method, params = call.get("method"), list(call.get("params", []))
        tag_index = {"eth_getBlockByNumber": 0, "eth_call": 1, "eth_getBalance": 1}.get(method)
        if tag_index is None or len(params) <= tag_index:
            return call
        tag = params[tag_index]
        if tag in ("latest", "pending", "safe", "finalized"):
            params[tag_index] = hex(visible)
        elif isinstance(tag, str) and tag.startswith("0x") and int(tag, 16) > visible:
            return None
        return {**call, "params": params}

    async def _forward_result(self, method: str, params: list):
        payload = {"jsonrpc": "2.0", "id": 0, "method": method, "params": params}
        async with self._session.post(self.upstream, json=payload) as resp:
            return (await resp.json())["result"]
