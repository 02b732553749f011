"""The pricefeed service: every route is listed here, and what runs beside them.

`create_app()` is the factory `pricefeed run` serves; the checkout's top-level `app.py` holds
`app = create_app()` for `uvicorn app:app` and `litestar run`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components
from litestar_htmx import HTMXPlugin

from pricefeed.chain.follower import Followers
from pricefeed.config import Settings, load_settings
from pricefeed.jobs.background import Background, Job
from pricefeed.jobs.queue import run_on_loop
from pricefeed.jobs.scheduler import Scheduler
from pricefeed.serving.feed import Feed
from pricefeed.serving.memo import PRUNE_EVERY
from pricefeed.web import admin, api, dashboard, http, monitor, signin
from pricefeed.web.auth import Auth, admin_token, server_secret
from pricefeed.web.bodies import JsonRequest
from pricefeed.web.docs import OfflineSwagger
from pricefeed.web.sampler import ALERT_EVERY, SAMPLE_EVERY, Sampler
from pricefeed.web.status import Services
from pricefeed.wiring import Parts, build

log = logging.getLogger(__name__)

ROUTES = [
    api.price,
    api.prices,
    monitor.metrics,
    monitor.prometheus,
    monitor.alerts,
    monitor.health,
    monitor.live,
    monitor.ready,
    admin.list_tiers,
    admin.update_tier,
    admin.pin,
    admin.unpin,
    admin.list_pairs,
    *http.static_routes(),
]
DASHBOARD_ROUTES = [  # behind sessions: see `dashboard_router`
    dashboard.home,
    signin.login_form,
    signin.login,
    signin.logout,
    dashboard.overview,
    dashboard.overview_live,
    dashboard.overview_chart_data,
    dashboard.pairs,
    dashboard.pairs_table,
    dashboard.pair,
    dashboard.tiers,
    dashboard.save_tier,
    dashboard.save_pin,
    dashboard.rpc,
    dashboard.rpc_table,
]
EXCEPTION_HANDLERS = {
    **http.EXCEPTION_HANDLERS,
    signin.SignInRequired: signin.sign_in_required,
}


def create_app(settings: Settings | None = None, queue_immediate: bool = False) -> Litestar:
    """The service on `settings` (else the environment's); `queue_immediate` runs refresh jobs
    inline, for tests that are not about the queue."""
    settings = settings or load_settings()
    token, token_file = admin_token(settings)
    auth = Auth(settings, token, server_secret(settings), token_file)
    parts = build(settings, queue_immediate)
    services = running(parts, in_process=settings.queue.in_process and not queue_immediate)
    app = Litestar(
        route_handlers=[*ROUTES, dashboard_router(settings, auth)],
        lifespan=[lifespan(settings, services, auth)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[http.timing],
        template_config=http.templates(),
        plugins=[HTMXPlugin()],
        openapi_config=openapi_config(),
        request_max_body_size=settings.server.max_body_bytes,
        request_class=JsonRequest,
        before_send=[http.security_headers],
        logging_config=None,  # `pricefeed run` configures JSON logs; tests keep pytest's
    )
    app.state.update(
        settings=settings,
        engine=parts.engine,
        store=parts.store,
        queue=parts.queue,
        feed=parts.feed,
        followers=services.followers,
        quotas=parts.quotas,
        metrics=parts.metrics,
        services=services,
        auth=auth,
        ready=False,
    )
    return app


def running(parts: Parts, in_process: bool) -> Services:
    """The parts as the views see them, with what runs beside the routes: the followers, the
    Prometheus collector and this process's background jobs."""
    followers = Followers(parts.engine.followers, persist=parts.store.save_pool_states)
    services = Services(
        parts.engine, parts.store, parts.feed, parts.queue, parts.metrics, in_process, followers
    )
    parts.metrics.registry.register(monitor.LiveCollector(services))
    services.background = background_jobs(parts.settings, parts.feed, Sampler(services))
    return services


def dashboard_router(settings: Settings, auth: Auth) -> Router:
    """The dashboard's routes: sessions and their cookies exist on the dashboard only."""
    return Router(
        path="/",
        route_handlers=DASHBOARD_ROUTES,
        middleware=[
            http.host_prefixed_cookie,
            http.sessions(auth.session_key, settings.dashboard.session_hours),
        ],
    )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="pricefeed",
        version="0.1.0",
        path="/schema",
        # the interactive docs at /schema, every file served by the app itself
        render_plugins=[OfflineSwagger(path="/"), JsonRenderPlugin(path="/openapi.json")],
        components=Components(security_schemes=api.BEARER),
    )


def lifespan(settings: Settings, s: Services, auth: Auth):
    """Start-up and shutdown: the parts are opened, then the loops started; shutdown stops
    the loops first, then closes the parts, so no job runs on a closed store."""

    @asynccontextmanager
    async def run(app: Litestar):
        await _open(s, auth)
        loops = _start_loops(settings, s)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await _stop(s, loops)

    return run


async def _open(s: Services, auth: Auth) -> None:
    await s.store.open()
    await auth.load(s.store)
    await s.engine.restore(await s.store.pool_states())
    await s.feed.start()
    s.queue.bind(run_on_loop(asyncio.get_running_loop(), s.feed.refreshes.refresh))
    s.background.start()


def _start_loops(settings: Settings, s: Services) -> list[asyncio.Task]:
    """Following the chains, the background jobs, the warm start, and (in one-process mode)
    the queue's consumer and its scheduler."""
    loops = [asyncio.create_task(s.followers.run()), asyncio.create_task(s.background.run())]
    if settings.state.warm_start:
        loops.append(asyncio.create_task(s.engine.warm()))
    if s.in_process:
        s.queue.start_consumer()
        scheduler = Scheduler(
            s.store,
            s.queue,
            settings.cache.recent,
            per_pair=settings.cache.amounts_per_pair,
            follows=s.feed.refreshes.follows,
        )
        loops.append(asyncio.create_task(scheduler.run()))
    return loops


async def _stop(s: Services, loops: list[asyncio.Task]) -> None:
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    # the workers may be waiting on this loop
    await asyncio.to_thread(s.background.stop)
    await asyncio.to_thread(s.queue.stop_consumer)
    await s.feed.close()
    await s.engine.close()
    await s.store.close()
    log.info("shutdown complete: jobs stopped, state saved, store closed")


def background_jobs(settings: Settings, feed: Feed, sampler: Sampler) -> Background:
    """This process's background work, by priority: tiers first, charts last."""
    cache = settings.cache

    async def retier() -> None:  # on the popularity of the requests up to now
        await feed.flush()
        await feed.ranking.retier()

    return Background(
        [
            Job("retier", cache.retier_interval, 50, retier, first=cache.flush_interval),
            Job(
                "prewarm",
                cache.retier_interval,
                40,
                feed.refreshes.prewarm,
                first=cache.flush_interval,
            ),
            Job("flush", cache.flush_interval, 30, feed.flush),
            Job("alerts", ALERT_EVERY, 20, sampler.alerts),
            Job("sample", SAMPLE_EVERY, 10, sampler.sample, first=ALERT_EVERY),
            Job("prune", PRUNE_EVERY, 0, feed.memo.prune_store, first=cache.flush_interval),
        ]
    )
