"""The public JSON API: parse, ask the feed, render. Rules live in the feed."""

from __future__ import annotations

import math
from typing import Annotated

import msgspec
from litestar import MediaType, Request, get, post
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import SecurityScheme
from litestar.params import Body, Parameter
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp

from pricefeed.errors import BatchTooLarge, ErrorBody, PricefeedError
from pricefeed.model import QuoteBody, encode_quote
from pricefeed.serving.answers import Served
from pricefeed.serving.feed import Feed
from pricefeed.web import examples as ex


class Price(QuoteBody, rename="camel", omit_defaults=True, kw_only=True):
    """One quote as the API answers it: the quote's fields, then how it was served."""

    age_ms: int
    tier: int
    cache: str  # "hit", "stale" or "miss"
    stale: bool
    max_age: float | None = None  # the max_age applied, when one was asked for...
    max_age_clamped: bool = False  # ...and whether it was raised to the floor (a block)


class PairQuery(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    token_in: str
    token_out: str
    chain_name: str | None = None
    chain: str | None = None
    amount: str = "1"


class PricesQuery(msgspec.Struct):
    pairs: list[PairQuery]


class Prices(msgspec.Struct):
    """Results in request order: each a Price, or an ErrorBody ({"error": {code, message}})."""

    results: list[dict]


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI for our error bodies, so the schema says what clients really get."""
    why = {
        400: "malformed request",
        401: "missing or wrong Bearer token",
        404: "unknown chain, token or route, or no route between the tokens",
        413: "request body too large",
        415: "the body is not sent as application/json",
        422: "bad amount, or a rule of the request broken",
        429: "rate limit reached; see Retry-After",
        503: "the chain or the store is unavailable; see Retry-After",
    }
    return {
        s: ResponseSpec(
            data_container=ErrorBody,
            description=why[s],
            examples=ex.example({"error": ex.ERRORS[s]}, why[s]),
        )
        for s in statuses
    }


# the admin routes' Bearer token, so the docs at /schema can send it ("Authorize")
BEARER = {"bearer": SecurityScheme(type="http", scheme="bearer", description="the admin token")}
ADMIN_SECURITY = [{"bearer": []}]
PUBLIC_ERRORS = errors(400, 404, 413, 415, 422, 429, 503)
ADMIN_ERRORS = errors(400, 401, 404, 413, 415, 422, 429, 503)


def render(served: Served) -> Price:
    return Price.of(served.quote, **_serving(served))


def encode(served: Served) -> bytes:
    """The Price of `served` as JSON. The quote's fields are encoded once per held quote and
    kept with it; only the few that change per answer are encoded each time."""
    entry = served.entry
    head = entry.body if entry is not None and entry.quote is served.quote else None
    if head is None:
        head = encode_quote(served.quote)
        if entry is not None and entry.quote is served.quote:
            entry.body = head
    tail = _encoder.encode({_JSON_NAMES[k]: v for k, v in _serving(served).items()})
    return head[:-1] + b"," + tail[1:]


_encoder = msgspec.json.Encoder()
_JSON_NAMES = {f.name: f.encode_name for f in msgspec.structs.fields(Price)}


def _serving(served: Served) -> dict:
    """How this answer was served; what Price leaves out at its default is left out."""
    fields = {
        "age_ms": int(served.age * 1000),
        "tier": served.tier.tier,
        "cache": served.cache,
        "stale": served.stale,
    }
    if served.max_age is not None:
        fields["max_age"] = served.max_age
    if served.max_age_clamped:
        fields["max_age_clamped"] = True
    return fields


def cache_headers(served: Served) -> dict[str, str]:
    """Headers that let a CDN in front keep this answer exactly as long as we would."""
    tier = served.tier
    fresh_for = 0 if served.stale else max(0, math.floor(tier.ttl - served.age))
    revalidate = max(0, math.floor(tier.stale_limit - max(served.age, tier.ttl)))
    return {
        "Cache-Control": f"public, max-age={fresh_for}, stale-while-revalidate={revalidate}",
        "Age": str(math.floor(served.age)),
    }


def client_of(request: Request) -> str:
    """The peer address (a trusted proxy's X-Forwarded-For there, and only then: see serve.py)."""
    return request.client.host if request.client else "unknown"


def error(e: PricefeedError) -> ErrorBody:
    return ErrorBody.of(e.code, e.message)


Chain = Annotated[str, Parameter(description="chain name or id", examples=ex.example("devchain"))]
TokenIn = Annotated[str, Parameter(description="symbol or address", examples=ex.example("WETH"))]
TokenOut = Annotated[str, Parameter(description="symbol or address", examples=ex.example("USDC"))]


@get(
    "/price/{chain:str}/{token_in:str}/{token_out:str}",
    summary="Quote one pair",
    description="The best amount out over every route, exact, from the cache or the chain.",
    responses=ex.answer(Price, ex.PRICE) | PUBLIC_ERRORS,
)
async def price(
    request: Request,
    chain: Chain,
    token_in: TokenIn,
    token_out: TokenOut,
    amount: Annotated[
        str, Parameter(description="decimal amount of tokenIn", examples=ex.example("1.5"))
    ] = "1",
    max_age: Annotated[
        float | None,
        Parameter(ge=0, description="seconds; fresher or wait", examples=ex.example(5)),
    ] = None,
) -> ASGIApp:
    feed: Feed = request.app.state.feed
    client = client_of(request)
    await request.app.state.quotas.charge_requests(client, 1)
    served = await feed.serve(chain, token_in, token_out, amount, max_age, client)
    # the encoded answer as is: no Response to convert, on the path every hit takes
    return ASGIResponse(
        body=encode(served), media_type=MediaType.JSON, headers=cache_headers(served)
    )


@post(
    "/prices",
    summary="Quote many pairs",
    description="Up to cache.batch_limit pairs, answered in request order; misses are fetched "
    "together, one multicall per chain.",
    status_code=200,
    responses=ex.answer(Prices, ex.PRICES) | PUBLIC_ERRORS,
)
async def prices(
    request: Request,
    data: Annotated[PricesQuery, Body(examples=ex.example(ex.PRICES_QUERY))],
) -> Prices:
    feed: Feed = request.app.state.feed
    limit = request.app.state.settings.cache.batch_limit
    if len(data.pairs) > limit:
        raise BatchTooLarge(f"at most {limit} pairs per request, got {len(data.pairs)}")
    client = client_of(request)
    await request.app.state.quotas.charge_requests(client, max(1, len(data.pairs)))
    items = []
    for p in data.pairs:
        items.append((p.chain_name or p.chain or "", p.token_in, p.token_out, p.amount))
    results = await feed.serve_many(items, client)
    return Prices(
        [
            msgspec.to_builtins(error(r) if isinstance(r, PricefeedError) else render(r))
            for r in results
        ]
    )
