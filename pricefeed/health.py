"""Liveness, readiness and health of the service."""

from __future__ import annotations

from litestar import Request, Response, get


@get("/health/live", sync_to_thread=False)
def live() -> dict:
    return {"status": "ok"}


@get("/health/ready")
async def ready(request: Request) -> Response[dict]:
    ok = bool(request.app.state.ready)
    return Response({"status": "ok" if ok else "starting"}, status_code=200 if ok else 503)


@get("/health")
async def health(request: Request) -> Response[dict]:
    engine = request.app.state.engine
    chains = {
        c.name: {"chainId": c.chain_id, "endpoints": len(c.settings.rpc_urls)}
        for c in engine.chains.all
    }
    return Response({"status": "ok", "chains": chains})
