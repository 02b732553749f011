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
from pricefeed.serving.feed import PRUNE_EVERY, Feed
from pricefeed.web import admin, api, dashboard, http, monitor
from pricefeed.web.auth import Auth, admin_token, server_secret
from pricefeed.web.bodies import JsonRequest
from pricefeed.web.docs import OfflineSwagger
from pricefeed.web.sampler import ALERT_EVERY, SAMPLE_EVERY, Sampler
from pricefeed.web.status import Services
from pricefeed.wiring import build

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


def create_app(settings: Settings | None = None, queue_immediate: bool = False) -> Litestar:
    settings = settings or load_settings()
    token, token_file = admin_token(settings)
    auth = Auth(settings, token, server_secret(settings), token_file)
    parts = build(settings, queue_immediate)
    engine, store, queue = parts.engine, parts.store, parts.queue
    metrics, quotas, feed = parts.metrics, parts.quotas, parts.feed
    in_process = settings.queue.in_process and not queue_immediate
    followers = Followers(engine.followers, persist=store.save_pool_states)
    services = Services(engine, store, feed, queue, metrics, in_process, followers)
    metrics.registry.register(monitor.LiveCollector(services))
    background = background_jobs(settings, feed, Sampler(services))
    services.background = background

    @asynccontextmanager
    async def lifespan(app: Litestar):
        await store.open()
        await auth.load(store)
        await engine.restore(await store.pool_states())
        await feed.start()
        queue.bind(run_on_loop(asyncio.get_running_loop(), feed.refresh))
        background.start()
        loops = [asyncio.create_task(followers.run()), asyncio.create_task(background.run())]
        if settings.state.warm_start:
            loops.append(asyncio.create_task(engine.warm()))
        if in_process:
            queue.start_consumer()
            loops.append(
                asyncio.create_task(
                    Scheduler(
                        store,
                        queue,
                        settings.cache.recent,
                        per_pair=settings.cache.amounts_per_pair,
                        follows=feed.follows,
                    ).run()
                )
            )
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            # the workers may be waiting on this loop
            await asyncio.to_thread(background.stop)
            await asyncio.to_thread(queue.stop_consumer)
            await feed.close()
            await engine.close()
            await store.close()
            log.info("shutdown complete: jobs stopped, state saved, store closed")

    app = Litestar(
        route_handlers=[
            *ROUTES,
            Router(  # sessions and their cookies exist on the dashboard only
                path="/",
                route_handlers=dashboard.ROUTES,
                middleware=[
                    http.host_prefixed_cookie,
                    http.sessions(auth.session_key, settings.dashboard.session_hours),
                ],
            ),
        ],
        lifespan=[lifespan],
        exception_handlers={
            **http.EXCEPTION_HANDLERS,
            dashboard.SignInRequired: dashboard.sign_in_required,
        },
        middleware=[
            http.timing,
        ],
        template_config=http.templates(),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="pricefeed",
            version="0.1.0",
            path="/schema",
            # the interactive docs at /schema, every file served by the app itself
            render_plugins=[OfflineSwagger(path="/"), JsonRenderPlugin(path="/openapi.json")],
            components=Components(security_schemes=api.BEARER),
        ),
        request_max_body_size=settings.server.max_body_bytes,
        request_class=JsonRequest,
        before_send=[http.security_headers],
        logging_config=None,  # `pricefeed run` configures JSON logs; tests keep pytest's
    )
    app.state.update(
        settings=settings,
        engine=engine,
        store=store,
        queue=queue,
        feed=feed,
        followers=followers,
        quotas=quotas,
        metrics=metrics,
        services=services,
        auth=auth,
        ready=False,
    )
    return app


def background_jobs(settings: Settings, feed: Feed, sampler: Sampler) -> Background:
    """This process's background work, by priority: tiers first, charts last."""
    cache = settings.cache

    async def retier() -> None:  # on the popularity of the requests up to now
        await feed.flush()
        await feed.ranking.retier()

    return Background(
        [
            Job("retier", cache.retier_interval, 50, retier, first=cache.flush_interval),
            Job("prewarm", cache.retier_interval, 40, feed.prewarm, first=cache.flush_interval),
            Job("flush", cache.flush_interval, 30, feed.flush),
            Job("alerts", ALERT_EVERY, 20, sampler.alerts),
            Job("sample", SAMPLE_EVERY, 10, sampler.sample, first=ALERT_EVERY),
            Job("prune", PRUNE_EVERY, 0, feed.prune_store, first=cache.flush_interval),
        ]
    )
