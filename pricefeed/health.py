"""Liveness and readiness of the service."""

from __future__ import annotations

from litestar import Request, get


@get("/health/live", sync_to_thread=False)
def live() -> dict:
    return {"status": "ok"}


@get("/health", sync_to_thread=False)
def health(request: Request) -> dict:
    engine = request.app.state.engine
    return {
        "status": "ok",
        "chains": {
            c.name: {"chainId": c.chain_id, "endpoints": len(c.settings.rpc_urls)}
            for c in engine.chains.all
        },
    }
