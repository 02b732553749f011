"""The HTTP server under `pricefeed run`: granian, embedded in this process on a uvloop loop.

Measured against uvicorn (uvloop + httptools) on cached answers, granian served 1.36x the
requests a second (BENCHMARKS.md), so it is the one `pricefeed run` uses. It runs embedded,
one worker on this process's own event loop, so the service stays one process: the Huey
consumer's threads, `kill -9` and the process managers see what they saw before. SIGINT and
SIGTERM stop it gracefully (the app's shutdown runs). Forwarded client addresses are believed
only from `server.trusted_proxies`, through uvicorn's ProxyHeadersMiddleware.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from litestar.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pricefeed.config import ServerSettings

log = logging.getLogger(__name__)
# granian's loggers hand their records to the root logger, where ours formats them
LOGGERS = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": True},
    },
}


def serve(factory: Callable[[], ASGIApp], host: str, port: int, server: ServerSettings) -> None:
    """Serve the app `factory` makes until SIGINT or SIGTERM."""

    def app() -> ASGIApp:
        made = factory()
        if server.trusted_proxies:
            return ProxyHeadersMiddleware(made, trusted_hosts=server.trusted_proxies)  # type: ignore[arg-type]
        return made

    granian = Server(
        app,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,  # with the lifespan: the app's start-up and shutdown run
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(server.log_level.lower()),
        log_dictconfig=LOGGERS,  # into our JSON lines on stderr (`configure_logging`)
        log_access=server.access_log,
        backlog=2048,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, granian.signal_handler_interrupt)
        log.info("serving on http://%s:%d", host, port)
        await granian.serve()

    uvloop.run(main())
