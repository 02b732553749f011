"""The smallest ASGI app answering what the service answered, served as `pricefeed run` serves
the service (the same server, options and logging): the floor the server itself sets.

`python -m pricefeed.bench.minimal DIR CONFIG --port P` serves DIR/body (bytes) with the
headers in DIR/headers.json to every request, with the server settings the service has from
CONFIG and the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

RESPONSE_DIR = "PRICEFEED_BENCH_RESPONSE"  # where create_app finds the response to repeat


def save_response(directory: Path, body: bytes, headers: list[tuple[str, str]]) -> None:
    """The response to repeat; hop-by-hop and server-set headers are left to the server."""
    server_set = {"content-length", "date", "server", "connection", "transfer-encoding"}
    kept = [(k, v) for k, v in headers if k.lower() not in server_set]
    (directory / "body").write_bytes(body)
    (directory / "headers.json").write_text(json.dumps(kept))


def create_app():
    directory = Path(os.environ[RESPONSE_DIR])
    body = (directory / "body").read_bytes()
    headers = [
        (k.encode(), v.encode()) for k, v in json.loads((directory / "headers.json").read_text())
    ]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    answer = {"type": "http.response.body", "body": body}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send(start)
        await send(answer)

    return app


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--port", type=int, required=True)
def main(directory: Path, config: Path, port: int) -> None:
    """Serve the saved response on the server `pricefeed run` uses, with its options."""
    from pricefeed.config import load_settings
    from pricefeed.logs import configure_logging
    from pricefeed.web.server import serve

    server = load_settings(config).server
    os.environ[RESPONSE_DIR] = str(directory)
    configure_logging(server.log_level)
    serve(create_app, "127.0.0.1", port, server)


if __name__ == "__main__":
    main()
