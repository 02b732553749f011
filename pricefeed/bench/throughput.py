"""Closed-loop throughput of one URL with wrk (or, without wrk, a Python loop), and the servers
the service is compared with: a minimal ASGI app on the same server, and nginx serving the same
bytes as a static file. Every server started here is stopped here."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from pricefeed.bench.harness import server_process
from pricefeed.bench.minimal import save_response
from pricefeed.devchain.node import free_port
from pricefeed.devchain.service import wait_ready

WRK_MISSING = "wrk is not installed (`apt-get install -y wrk`); using the Python load loop"


def load(url: str, connections: int, seconds: float) -> dict:
    """Requests per second that `connections` keep-alive clients get, each sending its next
    request when the last is answered."""
    if shutil.which("wrk"):
        return wrk(url, connections, seconds)
    print(WRK_MISSING, file=sys.stderr)
    return asyncio.run(python_load(url, connections, seconds))


def wrk(url: str, connections: int, seconds: float, threads: int = 1) -> dict:
    """One wrk thread: on two cores the other one is the server's."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "tool": "wrk",
        "connections": connections,
        "seconds": seconds,
        "requestsPerSecond": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])),
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "non2xx": int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        "socketErrors": errors[1] if errors else None,
        "latencyP50": latency.get("50"),
        "latencyP99": latency.get("99"),
    }


async def python_load(url: str, connections: int, seconds: float) -> dict:
    """wrk's loop in asyncio, for machines without wrk (it measures itself too: lower figures)."""
    parts = urlsplit(url)
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    deadline = time.perf_counter() + seconds
    counts = {"ok": 0, "non2xx": 0, "errors": 0}

    async def user() -> None:
        while time.perf_counter() < deadline:  # a new connection when the server closes one
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                await _requests(reader, writer, request, deadline, counts)
            except (asyncio.IncompleteReadError, ConnectionError):
                counts["errors"] += 1
            finally:
                writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    total = counts["ok"] + counts["non2xx"]
    return {
        "tool": "python",
        "connections": connections,
        "seconds": seconds,
        "requestsPerSecond": round(total / elapsed),
        "requests": total,
        "non2xx": counts["non2xx"],
        "socketErrors": counts["errors"] or None,
    }


async def _requests(reader, writer, request: bytes, deadline: float, counts: dict) -> None:
    """Request after request on one connection, until the deadline or the server closes it."""
    while time.perf_counter() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", head)
        await reader.readexactly(int(length[1]) if length else 0)
        counts["ok" if head[9:10] == b"2" else "non2xx"] += 1
        if re.search(rb"(?i)connection:\s*close", head):
            return


@contextmanager
def minimal_server(body: bytes, headers: list[tuple[str, str]], config: Path):
    """The minimal ASGI app answering `body` on uvicorn, set up as the service with `config`
    is; yields its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        save_response(Path(tmp), body, headers)
        port = free_port()
        command = [sys.executable, "-m", "pricefeed.bench.minimal", tmp, str(config)]
        command += ["--port", str(port)]
        with server_process(command, Path(tmp) / "server.log") as _:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, path="/")
            yield base


@contextmanager
def nginx_server(body: bytes, headers: list[tuple[str, str]], path: str):
    """nginx (one worker) serving `body` as a static file at `path`; yields its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed (`apt-get install -y nginx-light`)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's worker runs as nobody
        (root / "price.json").write_bytes(body)
        (root / "price.json").chmod(0o644)
        port = free_port()
        (root / "nginx.conf").write_text(_nginx_conf(root, port, headers))
        command = [binary, "-p", tmp, "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]
        with server_process(command, root / "server.log") as _:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, path=path)
            yield base


def _nginx_conf(root: Path, port: int, headers: list[tuple[str, str]]) -> str:
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "application/json")
    copied = "".join(
        f'      add_header {k} "{v}";\n' for k, v in headers if k.lower() == "cache-control"
    )
    temp = "".join(
        f"  {kind}_temp_path {root}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {root}/access.log;
{temp}  server {{
    listen 127.0.0.1:{port};
    location / {{
      root {root};
      default_type "{content_type}";
{copied}      try_files /price.json =404;
    }}
  }}
}}
"""
