"""`pricefeed bench`: the seed's open-loop load, Zipf-popular pairs, against the real service.

Three kinds of process: the world (anvil, a market moving prices every block, and an RPC proxy
adding 2-5 s and answering 429 past 25 req/s), the service (`pricefeed run`), and the load
generator(s), which keep their schedule whether or not earlier requests have come back. The
warm-up (cold start) and the steady state are reported apart; the proxy's counts are read at
the boundary. `compare` runs the start of the same schedule, with the same generator, against a
no-cache baseline served over HTTP: one on-chain quote per request.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
import httpx

from pricefeed.bench.client import Record
from pricefeed.bench.generator import Generators
from pricefeed.bench.harness import cpu_seconds, server_process, service, summary
from pricefeed.bench.report import chart, difference, window
from pricefeed.bench.schedule import Ask, directed_pairs, zipf_schedule
from pricefeed.bench.world import World
from pricefeed.devchain.node import free_port
from pricefeed.devchain.service import wait_ready

REQUEST_TIMEOUT = 65.0  # seconds; the service's own fetch deadline is 60


@dataclass
class Setup:
    rate: float = 200.0
    seconds: float = 120.0
    warmup: float = 30.0
    rpc_latency: tuple[float, float] = (2.0, 5.0)
    rpc_rate_limit: float | None = 25.0
    zipf: float = 1.1
    tail: int = 30  # 6 devchain tokens + 30: 36 * 35 = 1,260 directed pairs
    amount_decades: tuple[int, int] = (-3, 3)
    generators: int = 1
    clients: int = 1  # source addresses the load comes from (the service budgets per client)
    realtime: bool = True  # generators ask for real-time priority (see generator.py)
    baseline_seconds: float = 30.0
    seed: int = 7


def run(setup: Setup, compare: bool, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        click.echo(
            f"world: anvil, the devchain and {setup.tail} tail tokens, a market, an RPC proxy "
            f"({setup.rpc_latency[0]:g}-{setup.rpc_latency[1]:g} s, "
            f"{setup.rpc_rate_limit or 'no'} req/s cap) in their own process..."
        )
        world = World(data, setup.rpc_latency, setup.rpc_rate_limit, setup.tail, seed=setup.seed)
        with world:
            pairs = directed_pairs(world.tokens)
            asks = zipf_schedule(
                pairs, setup.rate, setup.warmup + setup.seconds, setup.zipf, setup.seed
            )
            results: dict = {"setup": _setup_json(setup, len(pairs))}
            try:
                records = _against_service(world, asks, setup, data, results)
                if compare:
                    results["baseline"] = baseline(world, asks, setup, data)
            finally:
                _keep_logs(data, out)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    chart(records, setup.warmup, out / "bench.html")
    return results


def _setup_json(setup: Setup, pairs: int) -> dict:
    return {
        "rate": setup.rate,
        "seconds": setup.seconds,
        "warmup": setup.warmup,
        "rpcLatency": list(setup.rpc_latency),
        "rpcRateLimit": setup.rpc_rate_limit,
        "zipf": setup.zipf,
        "directedPairs": pairs,
        "amountDecades": list(setup.amount_decades),
        "generators": setup.generators,
        "clients": setup.clients,
    }


def _against_service(world: World, asks: list[Ask], setup: Setup, data: Path, results: dict):
    """`pricefeed run` under the schedule; its figures go into `results`, its records back."""
    with service(world.config, data) as (base, _log):
        results["rpcAtStartUp"] = world.counts()  # before the load: what starting cost
        pids = {"service": int((data / "server.pid").read_text()), "world": world.pid}
        windows, records, gens = measure(
            base, world, asks, setup, (setup.warmup, setup.seconds), pids
        )
        results["serviceMetrics"] = _metrics(base)
    results["pricefeed"] = windows
    results["setup"] |= {
        "generatorPriority": gens.priorities,
        "generatorCpuSeconds": gens.cpu_seconds,
    }
    results["sendLag"] = summary([r.sent - r.scheduled for r in records if r.sent is not None])
    return records


def measure(
    base: str,
    world: World,
    asks: list[Ask],
    setup: Setup,
    span: tuple[float, float],
    pids: dict[str, int],
) -> tuple[dict, list[Record], Generators]:
    """The schedule against a server over (warm-up, steady) seconds: figures per window, every
    request's record, and the generators (their priority and CPU time). The CPU time of the
    processes in `pids` is read at the window boundaries with the proxy's counts."""
    warmup, seconds = span
    url = urlsplit(base)
    boundaries = [warmup, warmup + seconds] if warmup else [seconds]
    gens = Generators(
        url.hostname,
        url.port,
        asks,
        setup.generators,
        REQUEST_TIMEOUT,
        realtime=setup.realtime,
        clients=setup.clients,
    )
    with gens:
        world.reset()
        epoch = gens.start()
        counts = _counts_at(world, epoch, boundaries, pids)
        click.echo("waiting for the last answers...")
        records = gens.records()
    windows: dict = {}
    if warmup:
        early = [r for r in records if r.scheduled < warmup]
        rpc = difference(counts[1], counts[0])
        windows["warmup"] = window(early, rpc, warmup) | _cpu(counts[0], counts[1], warmup)
    late = [r for r in records if r.scheduled >= warmup]
    rpc = difference(counts[-1], counts[-2])
    windows["steady"] = window(late, rpc, seconds) | _cpu(counts[-2], counts[-1], seconds)
    return windows, records, gens


def _counts_at(world: World, epoch: float, boundaries: list[float], pids: dict) -> list[dict]:
    """The proxy's counts and the CPU seconds of `pids`, read at the start and at each boundary
    (seconds after `epoch`), with a progress bar."""
    counts, shown = [_reading(world, pids)], 0
    with click.progressbar(length=int(boundaries[-1]), label="load (seconds)") as bar:
        for boundary in boundaries:
            while (left := epoch + boundary - time.time()) > 0:
                time.sleep(min(0.5, left))
                elapsed = min(int(time.time() - epoch), int(boundaries[-1]))
                bar.update(max(0, elapsed - shown))
                shown = max(shown, elapsed)
            counts.append(_reading(world, pids))
    return counts


def _reading(world: World, pids: dict[str, int]) -> dict:
    return world.counts() | {"cpu": {name: cpu_seconds(pid) for name, pid in pids.items()}}


def _cpu(before: dict, after: dict, seconds: float) -> dict:
    """Share of one core each process used in the window (the world's without anvil's)."""
    shares = {}
    for name, used in after["cpu"].items():
        if used is not None and before["cpu"].get(name) is not None:
            shares[name] = round((used - before["cpu"][name]) / seconds, 3)
    return {"cpuCoreShare": shares}


def _metrics(base: str) -> dict:
    """The service's own /metrics at the end of the run (empty if it does not answer)."""
    try:
        return httpx.get(base + "/metrics", timeout=30).json()
    except (httpx.HTTPError, ValueError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def baseline(world: World, asks: list[Ask], setup: Setup, data: Path) -> dict:
    """The first `baseline_seconds` of the schedule against the no-cache server."""
    seconds = setup.baseline_seconds
    asks = [a for a in asks if a.at < seconds]
    port = free_port()
    command = [sys.executable, "-m", "pricefeed.bench.nocache", str(world.config)]
    click.echo(f"baseline: {len(asks)} requests over {seconds:g} s, one on-chain quote each...")
    with server_process([*command, "--port", str(port)], data / "baseline.log") as server:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        pids = {"service": server.pid, "world": world.pid}
        windows, _, gens = measure(base, world, asks, setup, (0, seconds), pids)
    return windows["steady"] | {"generatorCpuSeconds": gens.cpu_seconds}


def _keep_logs(data: Path, out: Path) -> None:
    """The world's and the baseline's logs, and the service's without its access lines."""
    for name in ("world.log", "baseline.log"):
        if (data / name).exists():
            shutil.copy(data / name, out / name)
    if (data / "server.log").exists():
        with (data / "server.log").open() as lines, (out / "server.log").open("w") as kept:
            kept.writelines(line for line in lines if '"uvicorn.access"' not in line)
