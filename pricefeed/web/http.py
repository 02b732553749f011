"""What every response shares: JSON errors, timing, templates, static files, sessions, CSRF,
security headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import plotly
from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pricefeed.errors import ErrorBody, PricefeedError
from pricefeed.resources import resource

log = logging.getLogger(__name__)


def pricefeed_error(_: Request, e: PricefeedError) -> Response:
    retry_after = getattr(e, "retry_after", None)  # 503s and 429s say when to come back
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(
        ErrorBody.of(e.code, e.message),
        status_code=e.status,
        headers=headers,
        media_type=MediaType.JSON,
    )


def validation_error(_: Request, e: ValidationException) -> Response:
    details = "; ".join(
        f"{x.get('key', '')}: {x.get('message', '')}"
        for x in (e.extra or [])
        if isinstance(x, dict)
    )
    return Response(
        ErrorBody.of("bad_request", f"{e.detail}{': ' + details if details else ''}"),
        status_code=400,
    )


HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def http_error(_: Request, e: HTTPException) -> Response:
    headers = dict(e.headers or {})
    if (
        e.status_code == 429
    ):  # Litestar's limiter says when in RateLimit-Reset; clients read Retry-After
        headers["Retry-After"] = str(max(1, int(headers.get("RateLimit-Reset", "1"))))
    body = ErrorBody.of(HTTP_CODES.get(e.status_code, "http_error"), e.detail)
    return Response(body, status_code=e.status_code, headers=headers)


def internal_error(request: Request, e: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return Response(ErrorBody.of("internal", "internal error; see the server log"), status_code=500)


EXCEPTION_HANDLERS = {
    PricefeedError: pricefeed_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}


def timing(app: ASGIApp) -> ASGIApp:
    """Count every HTTP request with its route, status and latency (the status as
    `security_headers` saw it go out: one wrapper of `send` fewer on every request)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            route = scope.get("path_template") or "unmatched"
            status = scope.get(STATUS_SENT, 500)
            scope["app"].state.metrics.request(route, status, time.perf_counter() - started)

    return middleware


STATUS_SENT = "pricefeed.status"  # the scope key `security_headers` notes the status under


STATIC = resource("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data"
HTMX_JS = STATIC / "node_modules" / "htmx.org" / "dist"
SWAGGER_UI = STATIC / "node_modules" / "swagger-ui-dist"
SESSION_COOKIE = "pricefeed_session"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "  # plotly styles inline
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


def templates() -> TemplateConfig:
    def filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["duration"] = duration
        engine.engine.filters["clock"] = lambda at: datetime.fromtimestamp(at, UTC).strftime(
            "%H:%M:%S UTC"
        )

    return TemplateConfig(
        directory=resource("templates"), engine=JinjaTemplateEngine, engine_callback=filters
    )


def duration(ms) -> str:
    """Milliseconds for people: 850 ms, 4.2 s, 3 min, 2 h."""
    if ms is None:
        return "\u2013"  # an en dash: "no value"
    seconds = ms / 1000
    if seconds < 1:
        return f"{ms:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plain_file_path(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Our file names are short and printable: anything else is no file of ours, and the file
    system would raise on it (a NUL, a name over 255 bytes)."""
    path = connection.scope["path"]
    if (
        len(path) > 1024
        or any(len(part.encode()) > 255 for part in path.split("/"))
        or any(ord(c) < 32 or ord(c) == 127 for c in path)
    ):
        raise NotFoundException("no such file")


def static_routes() -> list:
    """Everything the pages load is served here: never a CDN."""
    return [
        create_static_files_router(
            path="/static/vendor",
            directories=[PLOTLY_JS, HTMX_JS, SWAGGER_UI],
            include_in_schema=False,
            guards=[plain_file_path],
        ),
        create_static_files_router(
            path="/static",
            directories=[STATIC],
            include_in_schema=False,
            guards=[plain_file_path],
        ),
    ]


def sessions(key: bytes, hours: float) -> Callable[[ASGIApp], ASGIApp]:
    """Signed cookie sessions, for the dashboard's router only: no API answer sets a cookie.

    A plain function around Litestar's middleware, because routers are deep-copied when
    registered and the cookie backend's cipher cannot be."""
    define = CookieBackendConfig(
        secret=key,
        key=SESSION_COOKIE,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
    ).middleware
    return lambda app: define(app)


def host_prefixed_cookie(app: ASGIApp) -> ASGIApp:
    """Over TLS the session cookie is `__Host-pricefeed_session`: Secure, for this host only,
    so a sibling subdomain cannot plant or overwrite it. Renamed on the way in and out."""
    prefixed = f"__Host-{SESSION_COOKIE}=".encode()
    plain = f"{SESSION_COOKIE}=".encode()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await app(scope, receive, send)
            return
        headers = []
        for name, value in scope["headers"]:
            if name == b"cookie":
                kept = [c for c in value.split(b"; ") if not c.startswith(plain)]
                value = b"; ".join(kept).replace(prefixed, plain)
            headers.append((name, value))

        async def rename(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (
                        k,
                        prefixed + v[len(plain) :]
                        if k == b"set-cookie" and v.startswith(plain)
                        else v,
                    )
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await app({**scope, "headers": headers}, receive, rename)

    return middleware


HSTS = b"max-age=63072000; includeSubDomains"  # two years, once a browser has seen TLS here
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
]


async def security_headers(message: Message, scope: Scope) -> None:
    """CSP that fits our own assets, no sniffing, no framing; over TLS, HSTS and Secure cookies.

    A `before_send` hook, not a middleware: Litestar runs middleware only on matched routes,
    and 404s need these headers too.
    """
    if message["type"] != "http.response.start":
        return
    scope[STATUS_SENT] = message["status"]  # type: ignore[literal-required]
    headers = [*message.get("headers", ()), *SECURITY_HEADERS]
    if scope.get("scheme") == "https":
        headers = [
            (k, v + b"; Secure" if k.lower() == b"set-cookie" and b"secure" not in v.lower() else v)
            for k, v in headers
        ]
        headers.append((b"strict-transport-security", HSTS))
    message["headers"] = headers
