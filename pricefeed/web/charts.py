"""Plotly figures for the dashboard, built from the samples and price history in the store.

Figures leave here as plain JSON; the page draws them with the plotly.js that the plotly
package ships. Prices stay exact decimal strings: plotly.js reads them as numbers to draw.
"""

from __future__ import annotations

import html
import time
from collections import defaultdict
from datetime import UTC, datetime

import plotly.graph_objects as go

from pricefeed.amounts import format_units
from pricefeed.model import PairKey, Token
from pricefeed.store import Store

HOURS = 6  # how far back the overview charts look

# (chart id, title, y-axis, [(sample name, trace name pattern)])
OVERVIEW = [
    ("hit-rate", "Hit rate by tier", "share answered from cache", [("hit_rate", "tier {}")]),
    ("latency", "Response time", "ms", [("latency_ms", "{}")]),
    (
        "queue",
        "Refresh queue",
        "jobs",
        [("queue_waiting", "waiting"), ("queue_done_per_min", "done per minute")],
    ),
    (
        "rpc",
        "RPC calls and errors per minute, by chain",
        "per minute",
        [("rpc_calls_per_min", "{} calls"), ("rpc_errors_per_min", "{} errors")],
    ),
    (
        "dex",
        "Calls and reverts per minute, by DEX",
        "per minute",
        [("dex_calls_per_min", "{} calls"), ("dex_errors_per_min", "{} reverts")],
    ),
    ("age", "Served age by tier", "ms", [("served_age_ms", "tier {}")]),
]


def _layout(y_title: str) -> dict:
    """Plotly reads tags in its text (`<a href>` becomes a link), so chart titles are set as
    text by the page around the chart, and other text is escaped (`as_text`)."""
    return {
        "margin": {"l": 50, "r": 10, "t": 12, "b": 36},
        "height": 260,
        "legend": {"orientation": "h", "y": -0.25},
        "yaxis": {"title": {"text": as_text(y_title)}, "rangemode": "tozero"},
        "xaxis": {"type": "date"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }


def as_text(text: str) -> str:
    """Text plotly shows as written: it turns entities back into characters, never into tags."""
    return html.escape(text, quote=False)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


async def overview_charts(store: Store, now: float | None = None) -> list[dict]:
    """The overview's figures, each {"id", "figure", "points"}; `points` is 0 with no data yet."""
    since = (now or time.time()) - HOURS * 3600
    charts = []
    for chart_id, title, y_title, series in OVERVIEW:
        figure = go.Figure(layout=_layout(y_title))
        points = 0
        for name, pattern in series:
            by_label: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
            for at, label, value in await store.samples(name, since):
                xs, ys = by_label[label]
                xs.append(_when(at))
                ys.append(value)
            for label, (xs, ys) in sorted(by_label.items()):
                name = as_text(pattern.format(label))
                figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name))
                points += len(xs)
        charts.append(
            {"id": chart_id, "title": title, "figure": figure.to_plotly_json(), "points": points}
        )
    return charts


async def price_chart(
    store: Store, key: PairKey, token_in: Token, token_out: Token, days: float = 7
) -> dict:
    """Price history of one pair, a line per amount asked for."""
    history = await store.prices(key, time.time() - days * 86400)
    title = f"Price of {token_in.symbol} in {token_out.symbol}, by amount"
    figure = go.Figure(layout=_layout(f"{token_out.symbol} per {token_in.symbol}"))
    by_amount: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for at, amount, price, _block in history:
        xs, ys = by_amount[amount]
        xs.append(_when(at))
        ys.append(price)  # exact string; plotly.js parses it to draw
    for amount, (xs, ys) in sorted(by_amount.items(), key=lambda kv: int(kv[0])):
        label = as_text(f"{format_units(int(amount), token_in.decimals)} {token_in.symbol}")
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=label))
    figure.update_yaxes(type="linear", rangemode="normal")  # numbers, though sent as exact strings
    return {
        "id": "price",
        "title": title,
        "figure": figure.to_plotly_json(),
        "points": len(history),
    }
