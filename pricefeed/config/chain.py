"""A chain's settings: its RPC endpoints and their pool's tuning, its venues, its tokens."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from pricefeed.config.section import Address, Section, doc

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"


class UniswapV2Dex(Section, tag_field="kind", tag="uniswap_v2"):
    name: Annotated[str, doc("unique venue name within the chain, shown in routes")]
    factory: Annotated[Address, doc("UniswapV2Factory-style factory (getPair)")]
    router: Annotated[Address | None, doc("router02-style router, informational")] = None
    fee_bps: Annotated[int, doc("swap fee in basis points (30 = 0.3%)", ge=0, lt=10_000)] = 30


class UniswapV3Dex(Section, tag_field="kind", tag="uniswap_v3"):
    name: Annotated[str, doc("unique venue name within the chain, shown in routes")]
    factory: Annotated[Address, doc("UniswapV3Factory-style factory (getPool)")]
    quoter: Annotated[Address, doc("QuoterV2 address")]
    fees: Annotated[
        list[Annotated[int, Meta(ge=1, lt=1_000_000)]],
        doc("fee tiers to quote, in hundredths of a basis point", min_length=1),
    ] = msgspec.field(default_factory=lambda: [500, 3000, 10000])


Dex = UniswapV2Dex | UniswapV3Dex


class TokenSettings(Section):
    symbol: Annotated[str, doc("ticker used in requests (case-insensitive)", min_length=1)]
    address: Annotated[Address, doc("token contract address")]
    decimals: Annotated[int, doc("ERC-20 decimals", ge=0, le=77)]
    name: Annotated[str, doc("display name")] = ""


class RpcSettings(Section):
    request_timeout: Annotated[
        float, doc("seconds before one request to one endpoint is abandoned", gt=0)
    ] = 10.0
    hedge_after: Annotated[
        float, doc("seconds without an answer before the next endpoint is also asked", gt=0, le=1.5)
    ] = 1.0
    breaker_failures: Annotated[
        int, doc("consecutive failures that open an endpoint's circuit breaker", ge=1)
    ] = 3
    breaker_cooldown: Annotated[
        float, doc("seconds an open breaker waits before a half-open probe", gt=0)
    ] = 15.0
    max_lag_blocks: Annotated[
        int, doc("blocks behind the best head before an endpoint is demoted", ge=0)
    ] = 3
    rate_limit: Annotated[float, doc("requests per second allowed to each endpoint", gt=0)] = 25.0
    retries: Annotated[
        int, doc("rounds over all endpoints before a request fails", ge=1, le=10)
    ] = 3
    deadline: Annotated[float, doc("seconds a request may take in all, retries included", gt=0)] = (
        20.0
    )


class ChainSettings(Section):
    chain_id: Annotated[int, doc("EIP-155 chain id", ge=1)]
    rpc_urls: Annotated[
        list[str],
        doc("JSON-RPC endpoints (http/https); keys in them are redacted everywhere", min_length=1),
    ]
    multicall: Annotated[Address, doc("contract with Multicall3's aggregate3 ABI")] = MULTICALL3
    multicall_gas_limit: Annotated[
        int, doc("gas budget of one eth_call batch (the node's eth_call cap)", ge=1_000_000)
    ] = 50_000_000
    max_quotes_per_call: Annotated[int, doc("quotes that share one multicall", ge=1, le=1000)] = 50
    block_time: Annotated[float, doc("seconds between blocks", gt=0)] = 12
    ws_url: Annotated[
        str, doc("WebSocket endpoint: new heads by eth_subscribe instead of polling (optional)")
    ] = ""
    max_log_blocks: Annotated[
        int, doc("most blocks one eth_getLogs spans (longer spans are split)", ge=1)
    ] = 1000
    hubs: Annotated[list[str], doc("token symbols used as the middle of two-hop routes")] = (
        msgspec.field(default_factory=lambda: ["WETH", "USDC"])
    )
    infura_network: Annotated[
        str, doc("Infura network slug; with infura_key set adds an Infura endpoint")
    ] = ""
    dexes: Annotated[list[Dex], doc("venues to quote on")] = msgspec.field(default_factory=list)
    tokens: Annotated[list[TokenSettings], doc("known tokens")] = msgspec.field(
        default_factory=list
    )
    rpc: Annotated[RpcSettings, doc("RPC pool tuning")] = msgspec.field(default_factory=RpcSettings)
