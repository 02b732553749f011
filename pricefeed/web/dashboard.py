"""The operator dashboard: server-rendered pages, htmx fragments, plain-POST forms.

Every fragment is a template the full page includes, and its endpoint renders that same file
from the same context. Read-only pages need a sign-in unless `dashboard.public_read`; forms
always do, and carry a CSRF token.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar_htmx import ClientRedirect
from markupsafe import Markup

from pricefeed.errors import PricefeedError
from pricefeed.model import PairKey
from pricefeed.serving.feed import Feed
from pricefeed.serving.tiers import validate
from pricefeed.web.auth import Auth, TooManyAttempts
from pricefeed.web.charts import overview_charts, price_chart
from pricefeed.web.status import Services, metrics_json, pairs_view, rpc_view, state_view

log = logging.getLogger(__name__)
PAGE_SIZE = 25
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


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


def _services(request: Request) -> Services:
    return request.app.state.services


# sign-in


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/dashboard")


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


# overview


@get("/dashboard", guards=[read_guard], include_in_schema=False)
async def overview(request: Request) -> Template:
    s = _services(request)
    return page(
        request, "overview.html", m=await metrics_json(s), charts=await overview_charts(s.store)
    )


@get("/dashboard/fragments/overview", guards=[read_guard], include_in_schema=False)
async def overview_live(request: Request) -> Template:
    return page(request, "_overview_live.html", m=await metrics_json(_services(request)))


@get("/dashboard/fragments/charts", guards=[read_guard], include_in_schema=False)
async def overview_chart_data(request: Request) -> Template:
    return page(request, "_chart_data.html", charts=await overview_charts(_services(request).store))


# pairs


async def _pairs_context(request: Request, q: str, sort: str, page_no: int) -> dict:
    feed: Feed = request.app.state.feed
    try:
        listing = await pairs_view(feed, q, sort, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    except PricefeedError:
        sort = "popularity"
        listing = await pairs_view(feed, q, sort, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(listing["total"] / PAGE_SIZE))
    return {
        "listing": listing,
        "q": q,
        "sort": sort,
        "page_no": min(page_no, pages),
        "pages": pages,
    }


@get("/dashboard/pairs", guards=[read_guard], include_in_schema=False)
async def pairs(
    request: Request,
    q: FromQuery[str] = "",
    sort: FromQuery[str] = "popularity",
    page_no: PageNo = 1,
) -> Template:
    return page(request, "pairs.html", **await _pairs_context(request, q, sort, page_no))


@get("/dashboard/fragments/pairs", guards=[read_guard], include_in_schema=False)
async def pairs_table(
    request: Request,
    q: FromQuery[str] = "",
    sort: FromQuery[str] = "popularity",
    page_no: PageNo = 1,
) -> Template:
    return page(request, "_pairs_table.html", **await _pairs_context(request, q, sort, page_no))


@get(
    "/dashboard/pairs/{chain:str}/{token_in:str}/{token_out:str}",
    guards=[read_guard],
    include_in_schema=False,
)
async def pair(
    request: Request, chain: FromPath[str], token_in: FromPath[str], token_out: FromPath[str]
) -> Template:
    feed: Feed = request.app.state.feed
    chain_, req = await feed.engine.request(chain, token_in, token_out)
    key = PairKey(chain_.name, req.token_in.address, req.token_out.address)
    now = feed.clock()
    cached = sorted(
        (
            {
                "amount": e.quote.amount_in,
                "amountOut": e.quote.amount_out,
                "price": e.quote.price,
                "ageMs": int((now - e.fetched_at) * 1000),
                "block": e.quote.block_number,
                "route": " → ".join(
                    f"{h.dex}{f' {h.fee / 10_000:g}%' if h.fee else ''}" for h in e.quote.route
                ),
            }
            for k in feed.l1
            if k.pair == key and (e := feed.l1.peek(k)) is not None
        ),
        key=lambda r: Decimal(r["amount"]),
    )
    chart = await price_chart(feed.store, key, req.token_in, req.token_out)
    return page(
        request,
        "pair.html",
        chain=chain_.name,
        token_in=req.token_in,
        token_out=req.token_out,
        tier=feed.tier(key),
        cached=cached,
        chart=chart,
    )


# tiers and pins


def _tiers_context(request: Request, **extra: Any) -> dict:
    feed: Feed = request.app.state.feed
    forms = {
        n: {"values": _tier_values(t), "errors": {}, "saved": False}
        for n, t in sorted(feed.ranking.tiers.items())
    }
    return {"forms": forms, "pin": {"values": {}, "errors": {}, "saved": ""}} | extra


def _tier_values(t) -> dict:
    def show(v):
        return "" if v is None else f"{v:g}"

    return {
        "refresh": show(t.refresh),
        "ttl": show(t.ttl),
        "stale_limit": show(t.stale_limit),
        "size": show(t.size),
    }


@get("/dashboard/tiers", guards=[read_guard], include_in_schema=False)
async def tiers(request: Request, saved: FromQuery[int | None] = None) -> Template:
    context = _tiers_context(request)
    if saved in context["forms"]:
        context["forms"][saved]["saved"] = True
    context["pins"] = [
        p for p in (await pairs_view(request.app.state.feed, limit=500))["pairs"] if p["pinned"]
    ]
    return page(request, "tiers.html", **context)


@post(
    "/dashboard/tiers/{tier:int}",
    guards=[write_guard],
    include_in_schema=False,
    before_request=require_csrf,
)
async def save_tier(request: Request, tier: FromPath[int], data: Form) -> Response:
    feed: Feed = request.app.state.feed
    values = {k: data.get(k, "").strip() for k in ("refresh", "ttl", "stale_limit", "size")}
    new, errors = validate(tier, **values)
    if new is not None:
        await feed.ranking.save_tier(new)
    htmx = bool(request.headers.get("hx-request"))
    if new is not None and not htmx:
        return Redirect(f"/dashboard/tiers?saved={tier}", status_code=303)
    form = {
        "values": _tier_values(new) if new else values,
        "errors": errors,
        "saved": new is not None,
    }
    if htmx:
        return page(request, "_tier_form.html", n=tier, form=form)
    context = _tiers_context(request)
    context["forms"][tier] = form
    context["pins"] = []
    response = page(request, "tiers.html", **context)
    response.status_code = 422
    return response


@post("/dashboard/pins", guards=[write_guard], include_in_schema=False, before_request=require_csrf)
async def save_pin(request: Request, data: Form) -> Response:
    feed: Feed = request.app.state.feed
    values = {k: data.get(k, "").strip() for k in ("chain", "token_in", "token_out", "tier")}
    errors = {k: "required" for k in ("chain", "token_in", "token_out") if not values[k]}
    tier = None
    if values["tier"] not in ("", "none"):
        try:
            tier = int(values["tier"])
        except ValueError:
            errors["tier"] = "choose a tier"
    if not errors:
        try:
            await feed.ranking.pin(values["chain"], values["token_in"], values["token_out"], tier)
        except PricefeedError as e:
            field = {"unknown_chain": "chain", "bad_address": "token_in"}.get(e.code, "token_in")
            errors[field] = e.message
    if not errors and not request.headers.get("hx-request"):
        return Redirect("/dashboard/tiers", status_code=303)
    pins = [p for p in (await pairs_view(feed, limit=500))["pairs"] if p["pinned"]]
    saved = "" if errors else ("pinned" if tier else "unpinned")
    context = {"pin": {"values": values, "errors": errors, "saved": saved}, "pins": pins}
    if request.headers.get("hx-request"):
        return page(request, "_pins.html", **context)
    response = page(request, "tiers.html", **_tiers_context(request, **context))
    response.status_code = 422
    return response


# RPC endpoints


@get("/dashboard/rpc", guards=[read_guard], include_in_schema=False)
async def rpc(request: Request) -> Template:
    return page(request, "rpc.html", **_rpc_context(request))


@get("/dashboard/fragments/rpc", guards=[read_guard], include_in_schema=False)
async def rpc_table(request: Request) -> Template:
    return page(request, "_rpc_table.html", **_rpc_context(request))


def _rpc_context(request: Request) -> dict:
    s = request.app.state
    return {
        "rpc": rpc_view(s.engine),
        "state": state_view(s.engine, s.followers, time.time()),
        "chains": s.engine.chains.all,
    }


ROUTES = [
    home,
    login_form,
    login,
    logout,
    overview,
    overview_live,
    overview_chart_data,
    pairs,
    pairs_table,
    pair,
    tiers,
    save_tier,
    save_pin,
    rpc,
    rpc_table,
]
