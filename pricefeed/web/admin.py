"""The admin API: tier settings, pins, pairs. Bearer token from PRICEFEED_ADMIN_TOKEN."""

from __future__ import annotations

import logging
from typing import Annotated

import msgspec
from litestar import Request, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, Parameter

from pricefeed.errors import PricefeedError
from pricefeed.serving.feed import Feed
from pricefeed.serving.tiers import Tier, validate
from pricefeed.web import examples as ex
from pricefeed.web.api import ADMIN_ERRORS, ADMIN_SECURITY, Chain, TokenIn, TokenOut
from pricefeed.web.auth import Auth
from pricefeed.web.pairs import pairs_view

log = logging.getLogger(__name__)


def admin_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Bearer PRICEFEED_ADMIN_TOKEN; wrong tokens are throttled per client and overall."""
    auth: Auth = connection.app.state.auth
    client = connection.client.host if connection.client else "unknown"
    auth.throttle.check(client)
    given = connection.headers.get("authorization", "")
    if given and auth.token_matches(given.removeprefix("Bearer ")) and given.startswith("Bearer "):
        auth.throttle.succeeded(client)
        return
    if given:
        auth.throttle.failed(client)
        log.warning("wrong admin token from %s on %s", client, connection.url.path)
    raise NotAuthorizedException(
        "send 'Authorization: Bearer <PRICEFEED_ADMIN_TOKEN>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


class TierForm(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    ttl: float
    stale_limit: float
    refresh: float | None = None
    size: int | None = None


class Pin(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    chain: str
    token_in: str
    token_out: str
    tier: int


class TierInvalid(PricefeedError):
    code, status = "invalid_tier", 422


def tier_json(t: Tier) -> dict:
    return {
        "tier": t.tier,
        "refresh": t.refresh,
        "ttl": t.ttl,
        "staleLimit": t.stale_limit,
        "size": t.size,
    }


@get(
    "/admin/tiers",
    guards=[admin_guard],
    security=ADMIN_SECURITY,
    responses=ex.answer(list[dict], ex.TIERS) | ADMIN_ERRORS,
    summary="Tier settings",
)
async def list_tiers(request: Request) -> list[dict]:
    feed: Feed = request.app.state.feed
    return [tier_json(t) for _, t in sorted(feed.ranking.tiers.items())]


@put(
    "/admin/tiers/{tier:int}",
    guards=[admin_guard],
    security=ADMIN_SECURITY,
    responses=ex.answer(dict, ex.TIERS[0]) | ADMIN_ERRORS,
    summary="Change a tier's settings",
)
async def update_tier(
    request: Request,
    tier: Annotated[int, Parameter(description="tier number, 1 to 4", examples=ex.example(2))],
    data: Annotated[TierForm, Body(examples=ex.example(ex.TIER_FORM))],
) -> dict:
    feed: Feed = request.app.state.feed
    new, errors = validate(tier, data.refresh, data.ttl, data.stale_limit, data.size)
    if new is None:
        raise TierInvalid("; ".join(f"{k}: {v}" for k, v in errors.items()))
    await feed.ranking.save_tier(new)
    return tier_json(new)


@post(
    "/admin/pins",
    guards=[admin_guard],
    security=ADMIN_SECURITY,
    responses=ex.answer(dict, ex.PINNED) | ADMIN_ERRORS,
    summary="Pin a pair to a tier",
    status_code=200,
)
async def pin(request: Request, data: Annotated[Pin, Body(examples=ex.example(ex.PIN))]) -> dict:
    feed: Feed = request.app.state.feed
    chain, token_in, token_out = await feed.ranking.pin(
        data.chain, data.token_in, data.token_out, data.tier
    )
    return {"chain": chain, "tokenIn": token_in, "tokenOut": token_out, "pinnedTier": data.tier}


@delete(
    "/admin/pins/{chain:str}/{token_in:str}/{token_out:str}",
    guards=[admin_guard],
    security=ADMIN_SECURITY,
    responses=ex.answer(dict, ex.UNPINNED) | ADMIN_ERRORS,
    summary="Unpin a pair",
    status_code=200,
)
async def unpin(request: Request, chain: Chain, token_in: TokenIn, token_out: TokenOut) -> dict:
    feed: Feed = request.app.state.feed
    chain, token_in, token_out = await feed.ranking.pin(chain, token_in, token_out, None)
    return {"chain": chain, "tokenIn": token_in, "tokenOut": token_out, "pinnedTier": None}


@get(
    "/admin/pairs",
    guards=[admin_guard],
    security=ADMIN_SECURITY,
    responses=ex.answer(dict, ex.PAIRS) | ADMIN_ERRORS,
    summary="Pairs with tier, popularity, last quote",
)
async def list_pairs(
    request: Request,
    q: Annotated[
        str, Parameter(description="search chain or symbols", examples=ex.example("weth"))
    ] = "",
    sort: Annotated[
        str, Parameter(description="popularity, tier, pair, age or hits")
    ] = "popularity",
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    offset: Annotated[int, Parameter(ge=0)] = 0,
) -> dict:
    feed: Feed = request.app.state.feed
    return await pairs_view(feed, q, sort, limit, offset)
