"""The pricefeed service: every route is listed here."""

from __future__ import annotations

from litestar import Litestar

from pricefeed import health
from pricefeed.config import Settings, load_settings
from pricefeed.engine import QuoteEngine
from pricefeed.rpc.redact import install_log_redaction


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    install_log_redaction()
    engine = QuoteEngine(settings)

    async def close_engine() -> None:
        await engine.close()

    app = Litestar(
        route_handlers=[health.live, health.health],
        on_shutdown=[close_engine],
    )
    app.state.engine = engine
    app.state.settings = settings
    return app


app = create_app()
