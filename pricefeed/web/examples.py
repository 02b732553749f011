"""Example requests and answers for the OpenAPI document (and so the docs at /schema).

Taken from real answers of the devchain (`make demo`), trimmed where a list repeats itself.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

WETH = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
USDC = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
POOL = "0x039Be42D2D1F54F3e33AA7209D37531e54EFc67a"

PRICE = {
    "chain": "devchain",
    "chainId": 31337,
    "tokenIn": {"symbol": "WETH", "address": WETH, "decimals": 18},
    "tokenOut": {"symbol": "USDC", "address": USDC, "decimals": 6},
    "amountIn": "1.5",
    "amountInRaw": "1500000000000000000",
    "amountOut": "4499.879106",
    "amountOutRaw": "4499879106",
    "price": "2999.919404",
    "route": [
        {
            "dex": "uniswap-v2",
            "kind": "uniswap_v2",
            "pool": POOL,
            "fee": None,
            "tokenIn": WETH,
            "tokenOut": USDC,
        }
    ],
    "blockNumber": 80,
    "blockHash": "0xba5a3e8b6c1f0d2e4a7b9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081",
    "fetchedAt": "2026-11-27T12:00:00.000Z",
    "ageMs": 412,
    "tier": 1,
    "cache": "hit",
    "stale": False,
}
PRICES_QUERY = {
    "pairs": [
        {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "amount": "1.5"},
        {"chainName": "devchain", "tokenIn": "WETH", "tokenOut": "NOSUCH"},
    ]
}
PRICES = {
    "results": [
        PRICE,
        {"error": {"code": "unknown_token", "message": "no token 'NOSUCH' on devchain"}},
    ]
}
TIERS = [
    {"tier": 1, "refresh": 5.0, "ttl": 10.0, "staleLimit": 60.0, "size": 50},
    {"tier": 4, "refresh": None, "ttl": 600.0, "staleLimit": 3600.0, "size": None},
]
TIER_FORM = {"refresh": 30.0, "ttl": 60.0, "staleLimit": 300.0, "size": 500}
PIN = {"chain": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "tier": 1}
PINNED = {"chain": "devchain", "tokenIn": "WETH", "tokenOut": "USDC", "pinnedTier": 1}
UNPINNED = PINNED | {"pinnedTier": None}
PAIRS = {
    "total": 1,
    "offset": 0,
    "limit": 50,
    "pairs": [{"chain": "devchain", "pair": "WETH/USDC", "tier": 1, "pinned": True}],
}
METRICS = {
    "cacheHits": 1180,
    "cacheMisses": 20,
    "hitRate": 0.983,
    "latencyMs": {"p50": 0.4, "p95": 1.1, "p99": 3.2},
    "queueStats": {"active": 0, "waiting": 0, "completed": 96, "failed": 0, "expired": 0},
    "windowSeconds": 300.0,
    "alerts": [],
}
PROMETHEUS = (
    "# HELP pricefeed_requests_total API requests\n"
    "# TYPE pricefeed_requests_total counter\n"
    'pricefeed_requests_total{route="/price/{chain:str}/{token_in:str}/{token_out:str}",'
    'status="200"} 1180.0\n'
)
ALERTS = {"alerts": [{"name": "rpc_errors", "chain": "devchain", "since": 1795780000.0}]}
HEALTH = {
    "status": "ok",
    "database": "ok",
    "queue": {"mode": "in-process", "consumerAlive": True},
    "chains": {"devchain": {"chainId": 31337, "endpoints": 1, "usable": 1, "inUse": True}},
    "memory": {"rssMb": 182.4},
}
UNHEALTHY = HEALTH | {"status": "unhealthy", "database": "error: disk I/O error"}
LIVE = {"status": "ok"}
READY = {"status": "ok"}
STARTING = {"status": "starting"}

ERRORS = {
    400: {
        "code": "bad_request",
        "message": "Validation failed for GET /price/devchain/WETH/USDC: max_age: ...",
    },
    401: {"code": "http_error", "message": "send 'Authorization: Bearer <PRICEFEED_ADMIN_TOKEN>'"},
    404: {"code": "unknown_token", "message": "no token 'NOSUCH' on devchain"},
    413: {"code": "too_large", "message": "Request Entity Too Large"},
    415: {"code": "unsupported_media_type", "message": "send the body as application/json"},
    422: {"code": "bad_amount", "message": "amount must be greater than zero"},
    429: {"code": "rate_limited", "message": "too many requests: wait before trying again"},
    503: {
        "code": "upstream_unavailable",
        "message": "devchain: no RPC endpoint answered, and nothing is cached",
    },
}


def example(value: Any, summary: str = "example") -> list[Example]:
    return [Example(summary=summary, value=value)]


def answer(
    model: Any, value: Any, description: str = "OK", media_type: str = "application/json"
) -> dict[int, ResponseSpec]:
    """The 200 answer's schema with an example (Litestar documents its schema alone)."""
    spec = ResponseSpec(
        data_container=model,
        description=description,
        media_type=media_type,
        examples=example(value),
    )
    return {200: spec}
