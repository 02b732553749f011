"""Operators' read-only views: metrics (JSON and Prometheus), alerts, health."""

from __future__ import annotations

import asyncio
import time

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from pricefeed.jobs.queue import RefreshQueue
from pricefeed.web import examples as ex
from pricefeed.web.admin import admin_guard
from pricefeed.web.alerts import Alerts
from pricefeed.web.api import errors
from pricefeed.web.status import Services, health_json, metrics_json, rpc_view, state_view

METRICS_ERRORS = errors(401)


def metrics_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Figures name endpoints and their last errors: with `metrics.public = false` only the
    admin token sees them."""
    if not connection.app.state.settings.metrics.public:
        admin_guard(connection, handler)


@get(
    "/metrics",
    summary="Cache, latency, queue and RPC figures",
    guards=[metrics_guard],
    responses=ex.answer(dict, ex.METRICS) | METRICS_ERRORS,
)
async def metrics(request: Request) -> dict:
    return await metrics_json(request.app.state.services)


@get(
    "/metrics/prometheus",
    summary="The same, in Prometheus exposition format",
    guards=[metrics_guard],
    responses=ex.answer(str, ex.PROMETHEUS, media_type="text/plain") | METRICS_ERRORS,
)
async def prometheus(request: Request) -> Response[bytes]:
    body = await asyncio.to_thread(generate_latest, request.app.state.services.metrics.registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@get(
    "/alerts",
    summary="Active alerts and since when",
    guards=[metrics_guard],
    responses=ex.answer(dict, ex.ALERTS) | METRICS_ERRORS,
)
async def alerts(request: Request) -> dict:
    return {"alerts": (await metrics_json(request.app.state.services))["alerts"]}


@get(
    "/health",
    summary="RPC endpoints per chain, database, queue, memory (503 when unhealthy)",
    responses=ex.answer(dict, ex.HEALTH)
    | {
        503: ResponseSpec(
            data_container=dict,
            description="unhealthy: the body says which part",
            examples=ex.example(ex.UNHEALTHY),
        )
    },
)
async def health(request: Request) -> Response[dict]:
    body, ok = await health_json(request.app.state.services)
    return Response(body, status_code=200 if ok else 503)


@get(
    "/health/live",
    summary="The process answers",
    responses=ex.answer(dict, ex.LIVE),
    sync_to_thread=False,
)
def live() -> dict:
    return {"status": "ok"}


@get(
    "/health/ready",
    summary="Started: store migrated, cache warmed, workers up",
    responses=ex.answer(dict, ex.READY)
    | {
        503: ResponseSpec(
            data_container=dict, description="still starting", examples=ex.example(ex.STARTING)
        )
    },
)
async def ready(request: Request) -> Response[dict]:
    ok = bool(request.app.state.ready)
    return Response({"status": "ok" if ok else "starting"}, status_code=200 if ok else 503)


class LiveCollector:
    """Prometheus figures read from the running parts at scrape time, not counted per request."""

    def __init__(self, services: Services):
        self.s = services

    def collect(self):
        # the figures of /metrics' "rpc", rendered for Prometheus: one place computes them
        rpc = rpc_view(self.s.engine)
        yield from _queue_families(self.s.queue)
        yield from _endpoint_families(rpc)
        yield from _dex_families(rpc)
        yield from _budget_families(rpc)
        yield from _state_families(self.s)
        yield _alert_family(self.s.alerts)


def _queue_families(queue: RefreshQueue):
    """Refresh jobs running and waiting, and how the finished ones ended."""
    jobs = GaugeMetricFamily("pricefeed_queue_jobs", "refresh jobs", labels=["state"])
    jobs.add_metric(["active"], queue.active)
    jobs.add_metric(["waiting"], queue.waiting())
    outcomes = CounterMetricFamily(
        "pricefeed_queue_outcomes", "finished refresh jobs", labels=["outcome"]
    )
    for outcome in ("completed", "failed", "expired"):
        outcomes.add_metric([outcome], queue.outcomes[outcome])
    yield from (jobs, outcomes)


def _endpoint_families(rpc: dict):
    """Per RPC endpoint: requests, failures, and whether its breaker lets requests through."""
    labels = ["chain", "endpoint"]
    requests = CounterMetricFamily("pricefeed_rpc_requests", "JSON-RPC requests", labels=labels)
    failures = CounterMetricFamily(
        "pricefeed_rpc_failures", "failed JSON-RPC requests", labels=labels
    )
    breaker = GaugeMetricFamily(
        "pricefeed_breaker_open", "1 when the breaker is not closed", labels=[*labels, "state"]
    )
    for chain, e in _endpoints(rpc):
        requests.add_metric([chain, e["url"]], e["requests"])
        failures.add_metric([chain, e["url"]], e["failures"])
        breaker.add_metric([chain, e["url"], e["state"]], 0 if e["state"] == "closed" else 1)
    yield from (requests, failures, breaker)


def _dex_families(rpc: dict):
    """Per chain and DEX: the calls inside multicalls, and how many reverted."""
    labels = ["chain", "dex"]
    calls = CounterMetricFamily("pricefeed_dex_calls", "calls inside multicalls", labels=labels)
    errors = CounterMetricFamily(
        "pricefeed_dex_errors", "reverted calls inside multicalls", labels=labels
    )
    for chain, figures in rpc.items():
        for dex, counts in figures["dexes"].items():
            calls.add_metric([chain, dex], counts["calls"])
            errors.add_metric([chain, dex], counts["errors"])
    yield from (calls, errors)


def _budget_families(rpc: dict):
    """Per RPC endpoint, its rate limit as a budget: spent and waiting by priority, time full."""
    labels = ["chain", "endpoint"]
    spent = CounterMetricFamily(
        "pricefeed_rpc_budget_spent",
        "requests let through by the endpoint's rate limit, by priority",
        labels=[*labels, "priority"],
    )
    waiting = GaugeMetricFamily(
        "pricefeed_rpc_budget_waiting",
        "requests waiting for the endpoint's rate limit, by priority",
        labels=[*labels, "priority"],
    )
    full = CounterMetricFamily(
        "pricefeed_rpc_budget_full_seconds",
        "time with requests waiting for the endpoint's rate limit",
        labels=labels,
    )
    rate = GaugeMetricFamily(
        "pricefeed_rpc_budget_rate",
        "the endpoint's rate limit, requests per second",
        labels=labels,
    )
    for chain, e in _endpoints(rpc):
        at, budget = [chain, e["url"]], e["budget"]
        for priority, count in budget["waiting"].items():
            spent.add_metric([*at, priority], budget["spent"][priority])
            waiting.add_metric([*at, priority], count)
        full.add_metric(at, budget["fullSeconds"])
        rate.add_metric(at, budget["ratePerSecond"])
    yield from (spent, waiting, full, rate)


def _endpoints(rpc: dict):
    """(chain, endpoint figures) for every endpoint in `rpc_view`."""
    for chain, figures in rpc.items():
        for endpoint in figures["endpoints"]:
            yield chain, endpoint


def _alert_family(alerts: Alerts) -> GaugeMetricFamily:
    firing = GaugeMetricFamily(
        "pricefeed_alert_active", "1 while an alert is active", labels=["alert"]
    )
    for name in alerts.active:
        firing.add_metric([name], 1)
    return firing


def _state_families(s: Services):
    """Held pool state per chain: its age, and the counts that must stay 0."""
    families = {
        "ageSeconds": GaugeMetricFamily(
            "pricefeed_state_age_seconds", "since the held block was the head", labels=["chain"]
        ),
        "reorgs": CounterMetricFamily(
            "pricefeed_state_reorgs", "reorganisations repaired", labels=["chain"]
        ),
        "disagreements": CounterMetricFamily(
            "pricefeed_state_disagreements",
            "followed pools that differed from a fresh read (must stay 0)",
            labels=["chain"],
        ),
        "mismatches": CounterMetricFamily(
            "pricefeed_shadow_mismatches",
            "quotes that differed from the chain's own at their block (must stay 0)",
            labels=["chain"],
        ),
        "checked": CounterMetricFamily(
            "pricefeed_shadow_checks", "quotes asked on-chain again", labels=["chain"]
        ),
    }
    for chain, v in state_view(s.engine, s.followers, time.time()).items():
        families["ageSeconds"].add_metric([chain], v["ageSeconds"] or 0.0)
        families["reorgs"].add_metric([chain], v["reorgs"])
        families["disagreements"].add_metric([chain], v["disagreements"])
        families["mismatches"].add_metric([chain], v["shadow"]["mismatches"])
        families["checked"].add_metric([chain], v["shadow"]["checked"])
    yield from families.values()
