"""The wheel carries everything `pricefeed run` needs: installed into a fresh virtualenv, it
serves from any directory, keeping its data under ./var there."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import urllib.request
from pathlib import Path

from conftest import ROOT

from pricefeed.devchain.node import free_port
from pricefeed.devchain.service import files_env, wait_ready

UV = str(ROOT / ".tools" / "bin" / "uv")


def uv(*args: str | Path, cwd: Path = ROOT) -> None:
    done = subprocess.run(
        [UV, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


def status_of(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status


def wait_until_live(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> int:
    wait_ready(url, proc, timeout, path="/health/live")
    return status_of(url + "/health/live")


def test_the_installed_wheel_serves_from_any_directory(tmp_path):
    uv("build", "--wheel", "--out-dir", tmp_path / "dist")
    (wheel,) = (tmp_path / "dist").glob("pricefeed-*.whl")
    uv("export", "--locked", "--no-dev", "--no-emit-project", "-q", "-o", tmp_path / "req.txt")
    uv(
        "venv",
        "-q",
        "--python",
        os.path.realpath(ROOT / ".venv" / "bin" / "python"),
        tmp_path / "venv",
    )
    python = tmp_path / "venv" / "bin" / "python"
    uv("pip", "install", "-q", "--python", python, "-r", tmp_path / "req.txt", wheel)

    here = tmp_path / "elsewhere"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRICEFEED", "VIRTUAL_ENV"))}
    env["PRICEFEED__STATE__WARM_START"] = "false"  # the built-in chains are mainnets: no RPC
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        [tmp_path / "venv" / "bin" / "pricefeed", "run", "--port", str(port)],
        cwd=here,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        live = wait_until_live(url, proc)
        shipped = [
            status_of(url + path)
            for path in (
                "/dashboard/login",  # templates
                "/schema",
                "/static/api-docs.js",
                "/static/vendor/swagger-ui-bundle.js",
                "/static/vendor/htmx.min.js",
            )
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)  # a graceful stop, not timed

    assert live == 200
    assert shipped == [200] * 5
    assert (here / "var" / "pricefeed.db").exists()  # migrations shipped and applied
    assert stat.S_IMODE((here / "var" / "admin-token").stat().st_mode) == 0o600
    imported = subprocess.run(
        [python, "-c", "import pricefeed; print(pricefeed.__file__)"],
        cwd=here,
        capture_output=True,
        text=True,
    ).stdout
    assert "site-packages" in imported  # the wheel's code, not the checkout's


def test_the_checkouts_app_py_is_an_asgi_entry(config_file, tmp_path):
    env = {
        **os.environ,
        "PRICEFEED_CONFIG": str(config_file),
        **files_env(tmp_path),
    }
    port = free_port()
    uvicorn = ROOT / ".venv" / "bin" / "uvicorn"
    proc = subprocess.Popen(
        [uvicorn, "app:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        live = wait_until_live(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)  # a graceful stop, not timed

    assert live == 200
    assert (tmp_path / "admin-token").exists()
