"""Dashboard sign-in: the session guards, CSRF on forms, the sign-in and sign-out pages, and
`page`, which renders every dashboard template with the session's sign-in and CSRF token.

Read-only pages need a sign-in unless `dashboard.public_read`; forms always do, and carry a
CSRF token.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar_htmx import ClientRedirect
from markupsafe import Markup

from pricefeed.web.auth import Auth, TooManyAttempts

log = logging.getLogger(__name__)
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class SignInRequired(Exception):
    pass


def signed_in(connection: ASGIConnection) -> bool:
    auth: Auth = connection.app.state.auth
    return auth.signed_in(_session(connection), time.time())


async def signed_in_now(connection: ASGIConnection) -> bool:
    """`signed_in` against the store's epoch: a sign-out in another web process counts."""
    if _session(connection).get("admin"):
        await connection.app.state.auth.load(connection.app.state.store)
    return signed_in(connection)


def _session(connection: ASGIConnection) -> dict:
    session = connection.scope.get("session")
    return session if isinstance(session, dict) else {}


async def require_csrf(request: Request) -> None:
    """Every form carries the token of its own session (`csrf_field`)."""
    form = await request.form()
    if not request.app.state.auth.csrf_ok(_session(request), form.get("_csrf_token", "")):
        raise PermissionDeniedException(
            "the form's CSRF token is missing or wrong: reload the page"
        )


async def read_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if (
        not await signed_in_now(connection)
        and not connection.app.state.settings.dashboard.public_read
    ):
        raise SignInRequired


async def write_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not await signed_in_now(connection):
        raise SignInRequired


def sign_in_required(request: Request, _: SignInRequired) -> Response:
    if _session(request).get("admin"):  # over (signed out, expired, token changed): forget it
        request.clear_session()
    if request.headers.get("hx-request"):  # a fragment's poll or form: back to its page, not it
        back = urlsplit(request.headers.get("hx-current-url", "")).path or "/dashboard"
        return ClientRedirect("/dashboard/login?next=" + quote(back))
    return Redirect("/dashboard/login?next=" + quote(request.url.path), status_code=303)


def page(request: Request, template: str, **context: Any) -> Template:
    """A full page or, for htmx, just the fragment it asks for (same file, same context)."""
    session = _session(request)
    if not session.get("csrf"):
        session = {**session, "csrf": secrets.token_urlsafe(16)}
        request.set_session(session)
    token = request.app.state.auth.csrf_token(session["csrf"])
    context |= {
        "signed_in": signed_in(request),
        "path": request.url.path,
        "csrf_field": Markup(f'<input type="hidden" name="_csrf_token" value="{token}">'),
    }
    context.setdefault("public_read", request.app.state.settings.dashboard.public_read)
    return Template(template_name=template, context=context)


@get("/dashboard/login", include_in_schema=False)
async def login_form(
    request: Request, next: FromQuery[str] = "/dashboard", token: FromQuery[str] = ""
) -> Response:
    """With `?token=`, the link `pricefeed run` logs: signs in, then drops the token from
    the address bar by redirecting. Not from another site's page: its guesses would use up
    the sign-in throttle for everyone."""
    if token and request.headers.get("sec-fetch-site", "none") in ("none", "same-origin"):
        return await _sign_in(request, token, next)
    return _login_page(request, next, "", 200)


@post("/dashboard/login", include_in_schema=False, before_request=require_csrf)
async def login(request: Request, data: Form) -> Response:
    return await _sign_in(request, data.get("secret", ""), data.get("next", "/dashboard"))


async def _sign_in(request: Request, secret: str, next_page: str) -> Response:
    auth: Auth = request.app.state.auth
    client = request.client.host if request.client else "unknown"
    try:
        auth.throttle.check(client)
    except TooManyAttempts as e:
        page_ = _login_page(
            request, next_page, f"Too many wrong tries: wait {e.retry_after} s.", 429
        )
        page_.headers["Retry-After"] = str(e.retry_after)
        return page_
    if auth.token_matches(secret):
        auth.throttle.succeeded(client)
        await auth.load(request.app.state.store)  # the session is of the current epoch
        request.set_session(auth.new_session(_session(request), time.time()))
        return Redirect(_local(next_page), status_code=303)
    auth.throttle.failed(client)
    log.warning("dashboard sign-in with a wrong secret from %s", client)
    return _login_page(request, next_page, "Wrong secret.", 401)


def _login_page(request: Request, next_page: str, error: str, status: int) -> Template:
    template = page(request, "login.html", next=_local(next_page), error=error)
    template.status_code = status
    return template


@post("/dashboard/logout", include_in_schema=False, before_request=require_csrf)
async def logout(request: Request) -> Redirect:
    if await signed_in_now(request):  # ends every session: a replayed cookie is signed out too
        await request.app.state.auth.end_sessions(request.app.state.store)
    request.clear_session()
    return Redirect("/dashboard/login", status_code=303)


def _local(target: str) -> str:
    """Only redirect within the dashboard."""
    return target if target.startswith("/dashboard") and "//" not in target else "/dashboard"
