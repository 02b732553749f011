"""The operator dashboard's pages: overview, pairs, a pair, tiers and pins, RPC endpoints.

Server-rendered pages, htmx fragments, plain-POST forms. Every fragment is a template the full
page includes, and its endpoint renders that same file from the same context. Sign-in, the
guards and CSRF live in `signin`; `app.py` lists the routes.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from pricefeed.errors import PricefeedError
from pricefeed.model import PairKey
from pricefeed.serving.feed import Feed
from pricefeed.serving.tiers import validate
from pricefeed.web.charts import overview_charts, price_chart
from pricefeed.web.pairs import pairs_view
from pricefeed.web.signin import Form, page, read_guard, require_csrf, write_guard
from pricefeed.web.status import Services, metrics_json, rpc_view, state_view

PAGE_SIZE = 25
PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


def _services(request: Request) -> Services:
    return request.app.state.services


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/dashboard")


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
    chart = await price_chart(feed.store, key, req.token_in, req.token_out)
    return page(
        request,
        "pair.html",
        chain=chain_.name,
        token_in=req.token_in,
        token_out=req.token_out,
        tier=feed.tier(key),
        cached=_cached_amounts(feed, key),
        chart=chart,
    )


def _cached_amounts(feed: Feed, key: PairKey) -> list[dict]:
    """The pair's amounts in the memo, smallest first (peeked: the page counts as no use)."""
    now = feed.clock()
    rows = [
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
        for k in feed.memo.l1
        if k.pair == key and (e := feed.memo.l1.peek(k)) is not None
    ]
    return sorted(rows, key=lambda r: Decimal(r["amount"]))


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


async def _pins(feed: Feed) -> list[dict]:
    return [p for p in (await pairs_view(feed, limit=500))["pairs"] if p["pinned"]]


@get("/dashboard/tiers", guards=[read_guard], include_in_schema=False)
async def tiers(request: Request, saved: FromQuery[int | None] = None) -> Template:
    context = _tiers_context(request)
    if saved in context["forms"]:
        context["forms"][saved]["saved"] = True
    context["pins"] = await _pins(request.app.state.feed)
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
    pins = await _pins(feed)
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
