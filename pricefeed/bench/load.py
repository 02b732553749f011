"""`pricefeed bench`: an open-loop load with Zipf-distributed pairs against the real service.

The devchain runs a market that moves prices every block, a proxy adds `latency` seconds to
every RPC request, and requests leave at a fixed rate whether or not earlier ones have come
back (open loop). `compare` runs the same schedule against a no-cache baseline: one quote from
the chain per request.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from itertools import permutations
from pathlib import Path

import click
import httpx

from pricefeed.bench.harness import add_tail_tokens, config_for, service, summary
from pricefeed.config import load_settings
from pricefeed.devchain.deploy import deploy
from pricefeed.devchain.market import Market
from pricefeed.devchain.node import Anvil
from pricefeed.devchain.rpcproxy import RpcProxy
from pricefeed.engine import QuoteEngine
from pricefeed.errors import PricefeedError

AMOUNTS = ["1", "5", "25"]


def zipf_schedule(
    pairs: list[tuple[str, str]], rate: float, seconds: float, exponent: float, seed: int
) -> list[tuple[float, str, str, str]]:
    """(send at, tokenIn, tokenOut, amount) for every request of the run."""
    rng = random.Random(seed)
    ranked = pairs[:]
    rng.shuffle(ranked)
    weights = [1 / (rank**exponent) for rank in range(1, len(ranked) + 1)]
    count = int(rate * seconds)
    chosen = rng.choices(ranked, weights=weights, k=count)
    return [(i / rate, a, b, rng.choice(AMOUNTS)) for i, (a, b) in enumerate(chosen)]


async def drive(schedule, ask, label: str) -> list[dict]:
    """Send each request at its time (open loop); returns one record per request."""
    records: list[dict] = []
    started = time.perf_counter()
    with click.progressbar(length=len(schedule), label=label, file=None) as bar:

        async def one(at, a, b, amount):
            await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
            sent = time.perf_counter()
            record = await ask(a, b, amount)
            record |= {"at": sent - started, "latency": time.perf_counter() - sent}
            records.append(record)
            bar.update(1)

        await asyncio.gather(*(one(*item) for item in schedule))
    return records


def http_asker(client: httpx.AsyncClient):
    async def ask(a: str, b: str, amount: str) -> dict:
        try:
            answer = await client.get(f"/price/devchain/{a}/{b}", params={"amount": amount})
        except httpx.HTTPError as e:
            return {"status": 0, "error": type(e).__name__}
        body = answer.json()
        if answer.status_code != 200:
            return {"status": answer.status_code, "error": body.get("error", {}).get("code", "?")}
        return {"status": 200, "cache": body["cache"], "tier": body["tier"], "ageMs": body["ageMs"]}

    return ask


def engine_asker(engine: QuoteEngine):
    async def ask(a: str, b: str, amount: str) -> dict:
        try:
            await engine.quote("devchain", a, b, amount)
            return {"status": 200, "cache": "none"}
        except PricefeedError as e:
            return {"status": e.status, "error": e.code}

    return ask


def report(records: list[dict], proxy_requests: int, proxy_calls: int) -> dict:
    ok = [r for r in records if r["status"] == 200]
    per_tier: dict[str, Counter] = defaultdict(Counter)
    ages: dict[str, list[float]] = defaultdict(list)
    for r in ok:
        per_tier[str(r.get("tier", "-"))][r["cache"]] += 1
        if "ageMs" in r:
            ages[str(r["tier"])].append(r["ageMs"] / 1000)
    total = len(records)
    shares = Counter(r.get("cache") for r in ok)
    return {
        "requests": total,
        "latency": summary([r["latency"] for r in records]),
        "shares": {k: round(v / total, 4) for k, v in shares.items()},
        "perTier": {
            t: {k: round(v / sum(c.values()), 4) for k, v in c.items()} | {"n": sum(c.values())}
            for t, c in sorted(per_tier.items())
        },
        "servedAge": {t: summary(v) for t, v in sorted(ages.items())},
        "rpcHttpPer1000": round(1000 * proxy_requests / total, 1) if total else None,
        "ethCallsPer1000": round(1000 * proxy_calls / total, 1) if total else None,
        "errors": dict(Counter(r["error"] for r in records if "error" in r)),
    }


def run(
    rate: float,
    seconds: float,
    latency: tuple[float, float],
    exponent: float,
    tail: int,
    compare: bool,
    out: Path,
    seed: int = 7,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Anvil() as anvil, RpcProxy(anvil.url) as proxy:
        data = Path(tmp)
        click.echo("devchain: deploying Uniswap, pools and a long tail of tokens...")
        d = deploy(anvil.url)
        tokens = [s for s in d.tokens if s != "NOPE"] + add_tail_tokens(d, tail)
        pairs = list(permutations(tokens, 2))
        anvil.set_block_time(1)
        stop = threading.Event()
        market = threading.Thread(target=Market(d, seed=seed).run, args=(stop,), daemon=True)
        market.start()
        proxy.faults.delay = latency
        config = data / "pricefeed.toml"
        config.write_text(config_for(d, proxy.url))
        schedule = zipf_schedule(pairs, rate, seconds, exponent, seed)
        results = {
            "setup": {
                "rate": rate,
                "seconds": seconds,
                "rpcLatency": list(latency),
                "zipf": exponent,
                "directedPairs": len(pairs),
                "amountsPerPair": len(AMOUNTS),
            }
        }
        try:
            with service(config, data) as (base, _log):
                proxy.reset_counts()
                limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)

                async def cached():
                    async with httpx.AsyncClient(
                        base_url=base, limits=limits, timeout=120
                    ) as client:
                        return await drive(schedule, http_asker(client), "pricefeed")

                records = asyncio.run(cached())
                results["pricefeed"] = report(
                    records, proxy.http_requests, proxy.methods["eth_call"]
                )
                results["pricefeed"]["timeline"] = [
                    (
                        round(r["at"], 3),
                        round(r["latency"] * 1000, 2),
                        r.get("cache", r.get("error")),
                    )
                    for r in records
                ]
            if compare:
                proxy.reset_counts()
                engine = QuoteEngine(load_settings(config, env={}))

                async def baseline():
                    try:
                        return await drive(schedule, engine_asker(engine), "no cache")
                    finally:
                        await engine.close()

                records = asyncio.run(baseline())
                results["baseline"] = report(
                    records, proxy.http_requests, proxy.methods["eth_call"]
                )
        finally:
            stop.set()
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    chart(results, out / "bench.html")
    return results


def chart(results: dict, path: Path) -> None:
    """Latency of every request over time, coloured by how it was answered; plotly.js inlined."""
    import plotly.graph_objects as go

    figure = go.Figure(
        layout={
            "title": "pricefeed bench: client latency per request",
            "yaxis": {"title": "ms", "type": "log"},
            "xaxis": {"title": "seconds into the run"},
        }
    )
    by_kind: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for at, ms, kind in results["pricefeed"].pop("timeline"):
        by_kind[str(kind)][0].append(at)
        by_kind[str(kind)][1].append(ms)
    for kind, (xs, ys) in sorted(by_kind.items()):
        figure.add_trace(go.Scattergl(x=xs, y=ys, mode="markers", name=kind, marker={"size": 4}))
    figure.write_html(path, include_plotlyjs=True)  # self-contained: works offline


def table(results: dict) -> str:
    """The report as text, and the architecture's before/after table when there is a baseline."""
    p = results["pricefeed"]
    lines = [
        f"{results['setup']['directedPairs']} directed pairs, Zipf {results['setup']['zipf']}, {results['setup']['rate']:g} req/s for {results['setup']['seconds']:g} s, RPC latency {results['setup']['rpcLatency'][0]:g}-{results['setup']['rpcLatency'][1]:g} s",
        "",
        f"{'requests':28}{p['requests']}",
        f"{'latency p50/p95/p99/max':28}{p['latency'].get('p50Ms')} / {p['latency'].get('p95Ms')} / {p['latency'].get('p99Ms')} / {p['latency'].get('maxMs')} ms",
        f"{'hit / stale / miss':28}"
        + " / ".join(f"{100 * p['shares'].get(k, 0):.1f}%" for k in ("hit", "stale", "miss")),
    ]
    for tier, shares in p["perTier"].items():
        lines.append(
            f"{'  tier ' + tier:28}"
            + " / ".join(f"{100 * shares.get(k, 0):.1f}%" for k in ("hit", "stale", "miss"))
            + f"  ({shares['n']} requests)"
        )
    for tier, age in p["servedAge"].items():
        lines.append(
            f"{'  served age, tier ' + tier:28}avg {age.get('meanMs', 0) / 1000:.1f} s, p95 {age.get('p95Ms', 0) / 1000:.1f} s"
        )
    lines += [
        f"{'RPC HTTP per 1,000 requests':28}{p['rpcHttpPer1000']}",
        f"{'eth_calls per 1,000':28}{p['ethCallsPer1000']}",
        f"{'errors':28}{p['errors'] or 'none'}",
    ]
    if "baseline" in results:
        b = results["baseline"]
        reduction = (
            100 * (1 - p["rpcHttpPer1000"] / b["rpcHttpPer1000"]) if b["rpcHttpPer1000"] else 0
        )
        lines += [
            "",
            f"{'':24}{'no cache':>14}{'pricefeed':>14}",
            f"{'average response':24}{b['latency']['meanMs']:>11.1f} ms{p['latency']['meanMs']:>11.1f} ms",
            f"{'p95 response':24}{b['latency']['p95Ms']:>11.1f} ms{p['latency']['p95Ms']:>11.1f} ms",
            f"{'RPC calls / 1,000 req':24}{b['rpcHttpPer1000']:>14}{p['rpcHttpPer1000']:>14}",
            f"{'RPC call reduction':24}{'':>14}{reduction:>13.1f}%",
        ]
    return "\n".join(lines)
