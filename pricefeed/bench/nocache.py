"""The no-cache baseline as an HTTP service: GET /price/{chain}/{in}/{out}?amount= asks the
on-chain quoters once per request (QuoteEngine, no cache, no held state).

Served by uvicorn in its own process, so the same open-loop generator drives it as it drives
pricefeed: the engine's work cannot delay the schedule it is measured with.
`python -m pricefeed.bench.nocache CONFIG --port P`.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs

import click
import msgspec

from pricefeed.errors import PricefeedError
from pricefeed.model import QuoteBody

CONFIG = "PRICEFEED_BENCH_NOCACHE_CONFIG"


def create_app():
    from pricefeed.chain.engine import QuoteEngine
    from pricefeed.config import load_settings

    engine = QuoteEngine(load_settings(Path(os.environ[CONFIG]), env={}))

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await engine.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        status, body = await quote(engine, scope)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": msgspec.json.encode(body)})

    return app


async def quote(engine, scope) -> tuple[int, dict]:
    if scope["path"] == "/health/ready":
        return 200, {}
    parts = scope["path"].strip("/").split("/")
    if len(parts) != 4 or parts[0] != "price":
        return 404, {"error": {"code": "not_found", "message": scope["path"]}}
    amount = parse_qs(scope["query_string"].decode()).get("amount", ["1"])[0]
    try:
        q = await engine.quote(parts[1], parts[2], parts[3], amount)
    except PricefeedError as e:
        return e.status, {"error": {"code": e.code, "message": e.message}}
    return 200, msgspec.to_builtins(QuoteBody.of(q)) | {"cache": "none"}


@click.command()
@click.argument("config")
@click.option("--port", type=int, required=True)
def main(config: str, port: int) -> None:
    """Serve one on-chain quote per request with uvicorn."""
    import uvicorn

    from pricefeed.logs import configure_logging

    os.environ[CONFIG] = config
    configure_logging("WARNING")
    uvicorn.run(
        "pricefeed.bench.nocache:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,
    )


if __name__ == "__main__":
    main()
