"""The load bench's figures per window (cold start, steady state), as JSON, text and a chart."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from pricefeed.bench.client import Record
from pricefeed.bench.harness import summary

CACHE_KINDS = ("hit", "stale", "miss")


def window(records: list[Record], rpc: dict | None, seconds: float) -> dict:
    """What the client saw of the requests scheduled in one window, and the RPC it cost."""
    total = len(records)
    answered = [r for r in records if r.status]
    ok = [r for r in answered if r.status == 200]
    statuses = Counter(r.status for r in answered)
    return {
        "requests": total,
        "seconds": seconds,
        "sendLag": summary([r.sent - r.scheduled for r in records if r.sent is not None]),
        "latency": summary([r.latency for r in answered]),
        "latency200": summary([r.latency for r in ok]),
        "shares": _shares(Counter(r.cache for r in ok), total),
        "perTier": _per_tier(ok),
        "servedAgeMs": _served_age(ok),
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
        "status5xx": sum(n for s, n in statuses.items() if s >= 500),
        "errorCodes": dict(Counter(r.error for r in answered if r.error).most_common()),
        "transportErrors": dict(Counter(r.error for r in records if not r.status)),
        "rpc": _rpc(rpc, total) if rpc is not None else None,
    }


def difference(later: dict, earlier: dict) -> dict:
    """Proxy counts between two readings."""
    methods = Counter(later["methods"])
    methods.subtract(earlier["methods"])
    return {
        "httpRequests": later["httpRequests"] - earlier["httpRequests"],
        "methods": dict(methods),
        "limited": later["limited"] - earlier["limited"],
        "largestBodyBytes": later.get("largestBodyBytes"),  # a maximum since the reset
    }


def _shares(counts: Counter, total: int) -> dict:
    return {k: round(counts[k] / total, 4) for k in CACHE_KINDS} if total else {}


def _per_tier(ok: list[Record]) -> dict:
    tiers: dict[str, Counter] = defaultdict(Counter)
    for r in ok:
        tiers[str(r.tier)][r.cache] += 1
    return {t: _shares(c, c.total()) | {"n": c.total()} for t, c in sorted(tiers.items())}


def _served_age(ok: list[Record]) -> dict:
    ages: dict[str, list[float]] = defaultdict(list)
    for r in ok:
        if r.age_ms is not None:
            ages[str(r.tier)].append(r.age_ms / 1000)
    return {t: summary(v) for t, v in sorted(ages.items())}


def _rpc(counts: dict, total: int) -> dict:
    calls = counts["methods"].get("eth_call", 0)

    def per_1000(n: int) -> float | None:
        return round(1000 * n / total, 1) if total else None

    return {
        "httpRequests": counts["httpRequests"],
        "ethCalls": calls,
        "limited429": counts["limited"],
        "methods": counts["methods"],
        "httpPer1000": per_1000(counts["httpRequests"]),
        "ethCallsPer1000": per_1000(calls),
        "limitedPer1000": per_1000(counts["limited"]),
        "largestBodyBytes": counts.get("largestBodyBytes"),
    }


def table(results: dict) -> str:
    """The report as text: one column per window, then the state figures and the comparison."""
    s = results["setup"]
    lines = [
        f"{s['directedPairs']} directed pairs, Zipf {s['zipf']}, {s['rate']:g} req/s, "
        f"{s['warmup']:g} s warm-up then {s['seconds']:g} s, log-uniform amounts "
        f"10^{s['amountDecades'][0]}..10^{s['amountDecades'][1]}, RPC latency "
        f"{s['rpcLatency'][0]:g}-{s['rpcLatency'][1]:g} s, RPC limit {s['rpcRateLimit']} req/s, "
        f"{s['generators']} generator process(es) ({', '.join(s['generatorPriority'])}, "
        f"CPU {' + '.join(f'{c:g}' for c in s['generatorCpuSeconds'])} s), "
        f"{s['clients']} client address(es)",
        "",
        "send lag of the generator (actual send - scheduled), whole run: "
        + _ms(results["sendLag"], ("p50Ms", "p99Ms", "maxMs")),
        "",
    ]
    windows = results["pricefeed"]
    lines += _columns({name: w for name, w in windows.items()})
    if state := results.get("serviceMetrics", {}).get("state"):
        lines += ["", *_state_lines(state)]
    if "baseline" in results:
        lines += ["", *_comparison(results["baseline"], windows["steady"])]
    return "\n".join(lines)


def _columns(windows: dict[str, dict]) -> list[str]:
    rows = [
        ("requests", lambda w: f"{w['requests']} in {w['seconds']:g} s"),
        ("send lag p50/p99/max", lambda w: _ms(w["sendLag"], ("p50Ms", "p99Ms", "maxMs"))),
        ("latency p50/p95/p99/max", lambda w: _ms(w["latency"], _QUANTILES)),
        ("  200s only", lambda w: _ms(w["latency200"], _QUANTILES)),
        ("hit / stale / miss (all)", lambda w: _pct(w["shares"])),
        ("statuses", lambda w: _kv(w["statuses"])),
        ("transport errors", lambda w: _kv(w["transportErrors"])),
        ("error codes", lambda w: _kv(w["errorCodes"])),
        ("RPC HTTP / 1,000 req", lambda w: _rpc_text(w, "httpPer1000")),
        ("eth_calls / 1,000 req", lambda w: _rpc_text(w, "ethCallsPer1000")),
        ("RPC 429s / 1,000 req", lambda w: _rpc_text(w, "limitedPer1000")),
        ("CPU, share of a core", lambda w: _kv(w.get("cpuCoreShare", {}))),
    ]
    names = list(windows)
    out = [f"{'':26}" + "".join(f"{name:52}" for name in names)]
    out += [
        f"{label:26}" + "".join(f"{cell(windows[n]):52}" for n in names) for label, cell in rows
    ]
    tiers = sorted({t for w in windows.values() for t in w["perTier"]})
    for tier in tiers:
        out.append(
            f"{'  tier ' + tier + ' h/s/m':26}"
            + "".join(f"{_tier_text(windows[n], tier):52}" for n in names)
        )
        out.append(
            f"{'  tier ' + tier + ' age p50/p95':26}"
            + "".join(f"{_age_text(windows[n], tier):52}" for n in names)
        )
    return out


_QUANTILES = ("p50Ms", "p95Ms", "p99Ms", "maxMs")


def _ms(s: dict, keys: tuple[str, ...]) -> str:
    if not s.get("n"):
        return "-"
    return " / ".join(f"{s[k]:g}" for k in keys) + " ms"


def _pct(shares: dict) -> str:
    return " / ".join(f"{100 * shares.get(k, 0):.1f}%" for k in CACHE_KINDS)


def _kv(counts: dict) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in counts.items()) or "none"
    return text if len(text) < 51 else text[:48] + "..."


def _rpc_text(w: dict, key: str) -> str:
    return "-" if w["rpc"] is None else str(w["rpc"][key])


def _tier_text(w: dict, tier: str) -> str:
    shares = w["perTier"].get(tier)
    return f"{_pct(shares)} (n={shares['n']})" if shares else "-"


def _age_text(w: dict, tier: str) -> str:
    age = w["servedAgeMs"].get(tier)
    return f"{age['p50Ms'] / 1000:.1f} / {age['p95Ms'] / 1000:.1f} s" if age else "-"


def _state_lines(state: dict) -> list[str]:
    lines = ["service state (from /metrics at the end)"]
    for chain, s in state.items():
        shadow = s.get("shadow", {})
        lines.append(
            f"  {chain}: block {s.get('block')}, pools v2 {s['pools']['v2']} v3 {s['pools']['v3']}, "
            f"loads {s.get('loads')}, following {s.get('following')}, steps {s.get('steps')}, "
            f"disagreements {s.get('disagreements')}, shadow checked {shadow.get('checked')} "
            f"mismatches {shadow.get('mismatches')} not checked {shadow.get('notChecked')}"
        )
    return lines


def _comparison(b: dict, p: dict) -> list[str]:
    base, ours = b["rpc"]["httpPer1000"], p["rpc"]["httpPer1000"]
    reduction = 100 * (1 - ours / base) if base else 0.0

    def ok_share(w: dict) -> str:
        return f"{100 * int(w['statuses'].get('200', 0)) / w['requests']:.1f}%"

    def unanswered(w: dict) -> str:
        return f"{100 * sum(w['transportErrors'].values()) / w['requests']:.1f}%"

    rows = [
        ("requests", str(b["requests"]), str(p["requests"])),
        ("answered 200", ok_share(b), ok_share(p)),
        ("no answer (timeout...)", unanswered(b), unanswered(p)),
        ("send lag p99", _ms(b["sendLag"], ("p99Ms",)), _ms(p["sendLag"], ("p99Ms",))),
        ("average (answered)", _mean(b), _mean(p)),
        ("p95 (answered)", _p95(b), _p95(p)),
        ("RPC calls / 1,000 req", str(base), str(ours)),
        ("RPC call reduction", "", f"{reduction:.1f}%"),
    ]
    head = f"{'':24}{'no cache':>16}{'pricefeed':>16}   (pricefeed: steady window)"
    lines = [head, *(f"{label:24}{a:>16}{c:>16}" for label, a, c in rows)]
    if int(b["statuses"].get("200", 0)) < b["requests"] / 2:
        lines.append(
            "the baseline did not keep up: its RPC is what the endpoint's cap let through, "
            "not what it needed, so the reduction is a floor"
        )
    return lines


def _mean(w: dict) -> str:
    return f"{w['latency']['meanMs']:.1f} ms" if w["latency"].get("n") else "-"


def _p95(w: dict) -> str:
    return f"{w['latency']['p95Ms']:.1f} ms" if w["latency"].get("n") else "-"


def chart(records: list[Record], warmup: float, path: Path) -> None:
    """Latency of every request over time, coloured by how it was answered; plotly.js inlined."""
    import plotly.graph_objects as go

    figure = go.Figure(
        layout={
            "title": "pricefeed bench: client latency per request",
            "yaxis": {"title": "ms", "type": "log"},
            "xaxis": {"title": "seconds into the run (warm-up left of the line)"},
        }
    )
    by_kind: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for r in records:
        if r.latency is not None:
            kind = r.cache or r.error or str(r.status)
            by_kind[kind][0].append(round(r.scheduled, 3))
            by_kind[kind][1].append(round(r.latency * 1000, 2))
    for kind, (xs, ys) in sorted(by_kind.items()):
        figure.add_trace(go.Scattergl(x=xs, y=ys, mode="markers", name=kind, marker={"size": 4}))
    if warmup:
        figure.add_vline(x=warmup, line_dash="dash")
    figure.write_html(path, include_plotlyjs=True)  # self-contained: works offline
