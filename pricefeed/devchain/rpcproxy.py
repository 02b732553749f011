"""A JSON-RPC proxy in front of a node that counts what passes and injects faults.

Used by the tests (a hung, failing, rate-limited or lagging endpoint) and by benchmarks
(2-5 s of latency per request, like a distant public endpoint).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from pricefeed.devchain.node import free_port


@dataclass
class Faults:
    delay: tuple[float, float] = (0.0, 0.0)  # seconds, uniform in [lo, hi]
    hang: bool = False  # never answer
    status: int | None = None  # answer this HTTP status instead of forwarding
    lag: int = 0  # pretend to be this many blocks behind the upstream


class RpcProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int | None = None):
        self.upstream = upstream
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.faults = Faults()
        self.methods: Counter[str] = Counter()  # JSON-RPC methods received
        self.http_requests = 0
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

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        async with aiohttp.ClientSession() as self._session:
            self._started.set()
            await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.http_requests += 1
        body = await request.json()
        for call in body if isinstance(body, list) else [body]:
            self.methods[call.get("method", "?")] += 1
        f = self.faults
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

    async def _answer(self, call: dict) -> dict:
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
