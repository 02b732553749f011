"""What every response shares: JSON errors, request timing."""

from __future__ import annotations

import logging
import time

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ASGIApp, Receive, Scope, Send

from pricefeed.errors import PricefeedError, UpstreamUnavailable

log = logging.getLogger(__name__)


def _body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def pricefeed_error(_: Request, e: PricefeedError) -> Response:
    headers = {"Retry-After": str(e.retry_after)} if isinstance(e, UpstreamUnavailable) else None
    return Response(
        _body(e.code, e.message), status_code=e.status, headers=headers, media_type=MediaType.JSON
    )


def validation_error(_: Request, e: ValidationException) -> Response:
    details = "; ".join(
        f"{x.get('key', '')}: {x.get('message', '')}"
        for x in (e.extra or [])
        if isinstance(x, dict)
    )
    return Response(
        _body("bad_request", f"{e.detail}{': ' + details if details else ''}"), status_code=400
    )


def http_error(_: Request, e: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        e.status_code, "http_error"
    )
    return Response(_body(code, e.detail), status_code=e.status_code, headers=e.headers)


def internal_error(request: Request, e: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return Response(_body("internal", "internal error; see the server log"), status_code=500)


EXCEPTION_HANDLERS = {
    PricefeedError: pricefeed_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}


def timing(app: ASGIApp) -> ASGIApp:
    """Count every HTTP request with its route, status and latency."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def capture(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            route = scope.get("path_template") or "unmatched"
            scope["app"].state.metrics.request(route, status, time.perf_counter() - started)

    return middleware
