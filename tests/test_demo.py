"""`make demo` / `pricefeed demo`: the devchain, its market and the service in one command,
answering quotes; a signal stops every process it started and frees both ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PRICEFEED, ROOT

from pricefeed.devchain.node import free_port


def environment(port: int) -> dict[str, str]:
    own = ("PRICEFEED", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # `make test` runs these tests
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return env | {"PRICEFEED__SERVER__PORT": str(port)}


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_quote(url: str, proc: subprocess.Popen, out: Path, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while "Ctrl-C stops everything" not in out.read_text():
        assert proc.poll() is None, f"the demo exited: {out.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"the demo did not start: {out.read_text()[-3000:]}"
        time.sleep(0.5)
    with urllib.request.urlopen(url + "/price/devchain/WETH/USDC", timeout=30) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def group_gone(pgid: int, timeout: float = 30.0) -> bool:
    """Whether every process of the group has exited (each is reaped by its parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def started():
    """Processes started in their own group, killed whole if a test leaves them running."""
    procs: list[subprocess.Popen] = []
    yield procs.append
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_make_demo_answers_quotes_and_ctrl_c_stops_everything(tmp_path, started):
    port, chain_port = free_port(), free_port()
    out = tmp_path / "demo.out"
    args = f"DEMO_ARGS=--dir {tmp_path / 'demo'} --chain-port {chain_port}"
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "demo", args],
        cwd=ROOT,
        env=environment(port),
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    started(proc)
    quote = wait_for_quote(f"http://127.0.0.1:{port}", proc, out)
    printed = out.read_text()

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    proc.wait(60)

    assert quote["chain"] == "devchain" and int(quote["amountOutRaw"]) > 0
    assert f"curl 'http://127.0.0.1:{port}/price/devchain/WETH/USDC" in printed
    assert f"http://127.0.0.1:{port}/dashboard/login?token=" in printed
    assert group_gone(proc.pid)
    assert not listening(port) and not listening(chain_port)


def test_sigterm_to_pricefeed_demo_alone_stops_its_children(tmp_path, started):
    user = tmp_path / "project"
    user.mkdir()
    (user / "pricefeed.toml").write_text("# the user's own config\n")
    port, chain_port = free_port(), free_port()
    out = tmp_path / "demo.out"
    proc = subprocess.Popen(
        [PRICEFEED, "demo", "--chain-port", str(chain_port)],
        cwd=user,
        env=environment(port),
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started(proc)
    wait_for_quote(f"http://127.0.0.1:{port}", proc, out)

    proc.send_signal(signal.SIGTERM)  # to the demo only: it must stop the rest itself
    proc.wait(60)

    assert group_gone(proc.pid)
    assert not listening(port) and not listening(chain_port)
    assert (user / "pricefeed.toml").read_text() == "# the user's own config\n"
    assert "[chains.devchain]" in (user / "var" / "demo" / "pricefeed.toml").read_text()
