"""Starting `pricefeed run` as a process on files of its own: for the demo, the bench and the
tests, one way."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path


class NotReady(RuntimeError):
    pass


def files_env(data: Path, config: Path | None = None) -> dict[str, str]:
    """The environment that keeps the service's database and queue in `data` (and reads
    `config`, when given)."""
    env = {
        "PRICEFEED__DATABASE__URL": json.dumps(f"sqlite+aiosqlite:///{data}/pricefeed.db"),
        "PRICEFEED__QUEUE__PATH": json.dumps(str(data / "queue.db")),
    }
    if config is not None:
        env["PRICEFEED_CONFIG"] = str(config)
    return env


def wait_ready(
    url: str,
    process: subprocess.Popen | None = None,
    timeout: float = 60.0,
    path: str = "/health/ready",
) -> None:
    """Until `url + path` answers 200; raises NotReady if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NotReady(f"the server exited while starting (code {process.returncode})")
        try:
            with urllib.request.urlopen(url + path, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise NotReady(f"the server at {url} was not ready within {timeout:g} s")
