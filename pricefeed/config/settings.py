"""The service's settings: every table but a chain's, each key with its default and help."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from pricefeed.config.chain import ChainSettings
from pricefeed.config.section import Section, doc

ADMIN_TOKEN_VARIABLE = "PRICEFEED_ADMIN_TOKEN"
INFURA_KEY_VARIABLE = "INFURA_KEY"


class ServerSettings(Section):
    host: Annotated[str, doc("address the HTTP server binds")] = "127.0.0.1"
    port: Annotated[int, doc("HTTP port", ge=0, le=65535)] = 8000
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], doc("log level")] = "INFO"
    rate_limit: Annotated[
        int,
        doc(
            "quote requests per minute per client address; 0: no limit (the default: one app "
            "server may send hundreds a second; set it when the service is exposed)",
            ge=0,
        ),
    ] = 0
    access_log: Annotated[
        bool, doc("log every HTTP request (one line each; off: at hundreds a second it costs)")
    ] = False
    max_body_bytes: Annotated[
        int, doc("largest request body accepted, bytes (a full batch is about 20 KB)", ge=1024)
    ] = 65_536
    secret: Annotated[
        str,
        doc(
            "server secret behind session and CSRF keys (32+ characters); empty: a random one "
            "kept in the data directory as server-secret",
            secret=True,
        ),
    ] = ""
    admin_token: Annotated[
        str,
        doc(
            "token of the admin API and the dashboard sign-in (32+ characters; environment: "
            f"{ADMIN_TOKEN_VARIABLE}, which wins over the file); empty: a random one kept in the "
            "data directory as admin-token (`pricefeed token`)",
            secret=True,
        ),
    ] = ""
    quota_storage: Annotated[
        str, doc("where per-client quotas are counted: memory://, or redis://host:port to share")
    ] = "memory://"
    token_lookups_per_request: Annotated[
        int,
        doc("unknown token addresses one request may have read (in one batch of calls)", ge=0),
    ] = 100
    token_lookups_per_minute: Annotated[
        int, doc("unknown token addresses one client may have read a minute; 0: no limit", ge=0)
    ] = 300
    client_rpc_share: Annotated[
        float,
        doc(
            "most of a chain's RPC budget (its endpoint rate_limit) one client's misses may "
            "use; 1: no limit",
            gt=0,
            le=1,
        ),
    ] = 0.5
    trusted_proxies: Annotated[
        list[str],
        doc(
            "addresses of reverse proxies whose X-Forwarded-For/-Proto are believed; "
            "without them the client is the peer address"
        ),
    ] = msgspec.field(default_factory=list)


class DatabaseSettings(Section):
    url: Annotated[str, doc("SQLAlchemy async URL of the store (SQLite now, Postgres later)")] = (
        "sqlite+aiosqlite:///var/pricefeed.db"
    )
    busy_timeout_ms: Annotated[int, doc("SQLite busy timeout, milliseconds", ge=0)] = 5000
    min_free_mb: Annotated[
        int, doc("writes pause while the disk has less free space than this, MB", ge=0)
    ] = 64


class QueueSettings(Section):
    path: Annotated[str, doc("SQLite file of the Huey queue")] = "var/queue.db"
    workers: Annotated[int, doc("refresh worker threads", ge=1, le=64)] = 10
    in_process: Annotated[bool, doc("run the consumer and scheduler inside the web process")] = True
    poll: Annotated[float, doc("longest pause between queue polls, seconds", gt=0, le=1)] = 0.1
    retries: Annotated[int, doc("retries of a failed refresh job", ge=0)] = 3
    retry_delay: Annotated[float, doc("first retry delay, seconds; doubles each retry", ge=0)] = 1.0


class CacheSettings(Section):
    l1_size: Annotated[int, doc("quotes held in memory (LRU)", ge=1)] = 100_000
    fetch_deadline: Annotated[
        float,
        doc("seconds an on-demand fetch may take before the last known value is served", gt=0),
    ] = 10.0
    batch_limit: Annotated[int, doc("most pairs in one POST /prices", ge=1)] = 100
    half_life: Annotated[
        float, doc("seconds for a request's weight in popularity to halve", gt=0)
    ] = 600.0
    recent: Annotated[
        float, doc("amounts requested within this many seconds are kept refreshed", gt=0)
    ] = 3600.0
    flush_interval: Annotated[
        float, doc("seconds between writes of popularity to the store", gt=0)
    ] = 1.0
    retier_interval: Annotated[
        float, doc("seconds between re-rankings of pairs into tiers", gt=0)
    ] = 10.0
    learned_tokens: Annotated[
        int, doc("tokens learned from the chain kept per chain (LRU)", ge=1)
    ] = 10_000
    pool_pairs: Annotated[
        int, doc("token pairs whose pools (found or missing) are kept per chain (LRU)", ge=1)
    ] = 50_000
    no_route_size: Annotated[int, doc("'no route' answers remembered (LRU, 60 s each)", ge=1)] = (
        10_000
    )
    demand_pairs: Annotated[
        int, doc("pairs whose demand is tracked in memory (LRU; flushed before forgotten)", ge=1)
    ] = 20_000
    amounts_per_pair: Annotated[
        int,
        doc(
            "most recently asked amounts of a pair kept refreshed; others are fetched on demand",
            ge=1,
        ),
    ] = 8
    quote_retention: Annotated[
        float, doc("seconds a stored quote nobody asks for is kept", gt=0)
    ] = 86_400.0
    max_stored_quotes: Annotated[
        int, doc("most quotes kept in the store (the least recently asked go first)", ge=1)
    ] = 500_000
    history_retention: Annotated[
        float, doc("seconds of price history kept for the charts", gt=0)
    ] = 7 * 86_400.0
    pair_retention: Annotated[
        float, doc("seconds an unpinned pair nobody asks for is remembered", gt=0)
    ] = 30 * 86_400.0
    max_age_floor: Annotated[
        float,
        doc(
            "smallest max_age honoured, seconds (smaller is clamped); 0: the chain's block_time",
            ge=0,
        ),
    ] = 0.0
    not_token_size: Annotated[
        int, doc("addresses remembered as not ERC-20 tokens, per chain (LRU)", ge=1)
    ] = 10_000
    not_token_ttl: Annotated[
        float, doc("seconds an address is remembered as not an ERC-20 token", gt=0)
    ] = 3600.0
    hysteresis: Annotated[
        float, doc("a pair leaves a tier only past this multiple of its size", ge=1)
    ] = 1.2


class StateSettings(Section):
    warm_start: Annotated[
        bool,
        doc("at start-up, load the pools of every pair of configured tokens on every chain"),
    ] = True
    max_pools: Annotated[
        int,
        doc(
            "pools held in memory per chain for the last tier's pairs, loaded when asked for; "
            "the least recently priced are let go (the other tiers' pools are always held)",
            ge=1,
        ),
    ] = 20_000
    reread_interval: Annotated[
        float,
        doc(
            "seconds between reads of every held pool where a provider has no eth_getLogs "
            "(tier 1's refresh period by default)",
            gt=0,
        ),
    ] = 5.0
    logs_retry: Annotated[
        float,
        doc(
            "seconds after a provider refused eth_getLogs before it is asked again (a failover "
            "or an upgraded node may have it)",
            gt=0,
        ),
    ] = 600.0
    check_interval: Annotated[
        float, doc("seconds between consistency checks of followed pools", gt=0)
    ] = 60.0
    check_sample: Annotated[int, doc("pools read again at each consistency check", ge=0)] = 4
    shadow_rate: Annotated[
        float, doc("share of served quotes asked on-chain again to compare", ge=0, le=1)
    ] = 0.001
    shadow_per_second: Annotated[float, doc("most shadow checks a second, per chain", ge=0)] = 1.0


class MetricsSettings(Section):
    public: Annotated[
        bool,
        doc(
            "/metrics, /metrics/prometheus and /alerts without the admin token "
            "(for scrapers on loopback; set false when the port is reachable from outside)"
        ),
    ] = True


class DashboardSettings(Section):
    public_read: Annotated[bool, doc("read-only dashboard pages without signing in")] = False
    session_hours: Annotated[float, doc("hours a dashboard sign-in lasts", gt=0)] = 12.0


class Settings(Section):
    chains: Annotated[dict[str, ChainSettings], doc("chains by name")] = msgspec.field(
        default_factory=dict
    )
    include_default_chains: Annotated[
        bool, doc("keep the built-in Ethereum/Polygon/Arbitrum/Base chains")
    ] = True
    token_lists: Annotated[list[str], doc("paths of Uniswap Token List JSON files to load")] = (
        msgspec.field(default_factory=list)
    )
    infura_key: Annotated[
        str,
        doc(
            f"Infura API key (environment: {INFURA_KEY_VARIABLE}); set, every chain with an "
            "infura_network gets an Infura endpoint first",
            secret=True,
        ),
    ] = ""
    server: Annotated[ServerSettings, doc("HTTP server")] = msgspec.field(
        default_factory=ServerSettings
    )
    database: Annotated[DatabaseSettings, doc("persistence")] = msgspec.field(
        default_factory=DatabaseSettings
    )
    queue: Annotated[QueueSettings, doc("background refresh queue")] = msgspec.field(
        default_factory=QueueSettings
    )
    cache: Annotated[CacheSettings, doc("cache and popularity")] = msgspec.field(
        default_factory=CacheSettings
    )
    dashboard: Annotated[DashboardSettings, doc("operator dashboard")] = msgspec.field(
        default_factory=DashboardSettings
    )
    metrics: Annotated[MetricsSettings, doc("metrics exposure")] = msgspec.field(
        default_factory=MetricsSettings
    )
    state: Annotated[StateSettings, doc("pool state held in memory")] = msgspec.field(
        default_factory=StateSettings
    )
