"""Settings: built-in defaults, then a TOML file, then environment overrides, parsed strictly.

Every setting is declared once below with its default and its help text. A bad value stops
start-up with a `ConfigError` naming the key and the problem.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
ENV_PREFIX = "PRICEFEED__"
ADMIN_TOKEN_VARIABLE = "PRICEFEED_ADMIN_TOKEN"
INFURA_KEY_VARIABLE = "INFURA_KEY"
# Two settings keep the names users set before PRICEFEED__ existed; empty counts as unset.
ENV_ALIASES = {
    ADMIN_TOKEN_VARIABLE: ("server", "admin_token"),
    INFURA_KEY_VARIABLE: ("infura_key",),
}

Address = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{40}$", description="a 20-byte hex address")]


def doc(description: str, secret: bool = False, **constraints: Any) -> Meta:
    # writeOnly (JSON Schema): a secret is set, never shown back
    extra = {"writeOnly": True} if secret else None
    return Meta(description=description, extra_json_schema=extra, **constraints)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


class _Section(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class UniswapV2Dex(_Section, tag_field="kind", tag="uniswap_v2"):
    name: Annotated[str, doc("unique venue name within the chain, shown in routes")]
    factory: Annotated[Address, doc("UniswapV2Factory-style factory (getPair)")]
    router: Annotated[Address | None, doc("router02-style router, informational")] = None
    fee_bps: Annotated[int, doc("swap fee in basis points (30 = 0.3%)", ge=0, lt=10_000)] = 30


class UniswapV3Dex(_Section, tag_field="kind", tag="uniswap_v3"):
    name: Annotated[str, doc("unique venue name within the chain, shown in routes")]
    factory: Annotated[Address, doc("UniswapV3Factory-style factory (getPool)")]
    quoter: Annotated[Address, doc("QuoterV2 address")]
    fees: Annotated[
        list[Annotated[int, Meta(ge=1, lt=1_000_000)]],
        doc("fee tiers to quote, in hundredths of a basis point", min_length=1),
    ] = msgspec.field(default_factory=lambda: [500, 3000, 10000])


Dex = UniswapV2Dex | UniswapV3Dex


class TokenSettings(_Section):
    symbol: Annotated[str, doc("ticker used in requests (case-insensitive)", min_length=1)]
    address: Annotated[Address, doc("token contract address")]
    decimals: Annotated[int, doc("ERC-20 decimals", ge=0, le=77)]
    name: Annotated[str, doc("display name")] = ""


class RpcSettings(_Section):
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


class ChainSettings(_Section):
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


class ServerSettings(_Section):
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


class DatabaseSettings(_Section):
    url: Annotated[str, doc("SQLAlchemy async URL of the store (SQLite now, Postgres later)")] = (
        "sqlite+aiosqlite:///var/pricefeed.db"
    )
    busy_timeout_ms: Annotated[int, doc("SQLite busy timeout, milliseconds", ge=0)] = 5000
    min_free_mb: Annotated[
        int, doc("writes pause while the disk has less free space than this, MB", ge=0)
    ] = 64


class QueueSettings(_Section):
    path: Annotated[str, doc("SQLite file of the Huey queue")] = "var/queue.db"
    workers: Annotated[int, doc("refresh worker threads", ge=1, le=64)] = 10
    in_process: Annotated[bool, doc("run the consumer and scheduler inside the web process")] = True
    poll: Annotated[float, doc("longest pause between queue polls, seconds", gt=0, le=1)] = 0.1
    retries: Annotated[int, doc("retries of a failed refresh job", ge=0)] = 3
    retry_delay: Annotated[float, doc("first retry delay, seconds; doubles each retry", ge=0)] = 1.0


class CacheSettings(_Section):
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


class StateSettings(_Section):
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


class MetricsSettings(_Section):
    public: Annotated[
        bool,
        doc(
            "/metrics, /metrics/prometheus and /alerts without the admin token "
            "(for scrapers on loopback; set false when the port is reachable from outside)"
        ),
    ] = True


class DashboardSettings(_Section):
    public_read: Annotated[bool, doc("read-only dashboard pages without signing in")] = False
    session_hours: Annotated[float, doc("hours a dashboard sign-in lasts", gt=0)] = 12.0


class Settings(_Section):
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


class _ListedToken(Struct):
    chainId: int
    address: Address
    symbol: str
    decimals: Annotated[int, Meta(ge=0, le=77)]
    name: str = ""


class _TokenList(Struct):
    tokens: list[_ListedToken]


def config_path(env: dict[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if env.get("PRICEFEED_CONFIG"):
        return Path(env["PRICEFEED_CONFIG"])
    local = Path("pricefeed.toml")
    return local if local.exists() else None


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, overlaid by the file at `path` (or the usual places), then by the environment."""
    env = dict(os.environ if env is None else env)
    path = path if path is not None else config_path(env)
    data = _read_toml(DEFAULTS_FILE)
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist (PRICEFEED_CONFIG)")
        user = _read_toml(path)
        if user.get("include_default_chains", True) is False:
            data["chains"] = {}
        _merge(data, user)
    _apply_env(data, env)
    _apply_aliases(data, env)
    source = f"{path}" if path is not None else "built-in defaults"
    chains = data.pop("chains", {})
    settings = _convert(data, Settings, "", source)
    settings.chains = {
        name: _convert(chain, ChainSettings, f"chains.{name}", source)
        for name, chain in chains.items()
    }
    _add_infura(settings)
    for list_path in settings.token_lists:
        _add_token_list(settings, Path(list_path))
    _check(settings)
    return settings


def _convert(data: Any, kind: type, where: str, source: str) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as e:
        problem, _, at = str(e).partition(" - at `$")
        key = (where + at.rstrip("`")).lstrip(".") or "(top level)"
        raise ConfigError(f"{key}: {problem} (in {source} or PRICEFEED__ environment)") from None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def _merge(base: dict, top: dict) -> None:
    """Deep-merge `top` into `base`: tables merge key by key, anything else replaces."""
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_env(data: dict, env: dict[str, str]) -> None:
    """PRICEFEED__SERVER__PORT=8080 sets server.port; values are TOML values, else strings."""
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {'.'.join(keys)} does not name a setting")
        node[keys[-1]] = value


def _apply_aliases(data: dict, env: dict[str, str]) -> None:
    for name, keys in ENV_ALIASES.items():
        if env.get(name):
            node = data
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = env[name]


def _add_infura(settings: Settings) -> None:
    if not settings.infura_key:
        return
    for chain in settings.chains.values():
        if chain.infura_network:
            url = f"https://{chain.infura_network}.infura.io/v3/{settings.infura_key}"
            chain.rpc_urls = [url, *chain.rpc_urls]


def _add_token_list(settings: Settings, path: Path) -> None:
    try:
        listed = msgspec.json.decode(path.read_bytes(), type=_TokenList)
    except (OSError, msgspec.DecodeError) as e:
        raise ConfigError(f"token_lists: {path}: {e}") from None
    by_id = {c.chain_id: c for c in settings.chains.values()}
    for t in listed.tokens:
        chain = by_id.get(t.chainId)
        if chain is not None and all(x.address.lower() != t.address.lower() for x in chain.tokens):
            chain.tokens.append(
                TokenSettings(symbol=t.symbol, address=t.address, decimals=t.decimals, name=t.name)
            )


def _check(settings: Settings) -> None:
    if settings.server.secret and len(settings.server.secret) < 32:
        raise ConfigError("server.secret: must be at least 32 characters, or empty")
    seen_ids: dict[int, str] = {}
    for name, chain in settings.chains.items():
        where = f"chains.{name}"
        if chain.chain_id in seen_ids:
            raise ConfigError(
                f"{where}.chain_id: {chain.chain_id} is also {seen_ids[chain.chain_id]}'s chain id"
            )
        seen_ids[chain.chain_id] = name
        for i, url in enumerate(chain.rpc_urls):
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{where}.rpc_urls[{i}]: must be an http(s) URL")
        dex_names = [d.name for d in chain.dexes]
        if len(set(dex_names)) != len(dex_names):
            raise ConfigError(f"{where}.dexes: names must be unique, got {dex_names}")
        symbols = {t.symbol.lower() for t in chain.tokens}
        for hub in chain.hubs:
            if hub.lower() not in symbols:
                raise ConfigError(f"{where}.hubs: {hub!r} is not one of the chain's tokens")


def describe_settings(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Each settings table's keys and their help text, from the declarations above. A secret
    says whether it is set in `settings`, never its value."""
    defs = msgspec.json.schema(Settings)["$defs"]
    described: dict[str, dict[str, str]] = {}
    for table, spec in defs.items():
        keys = described[table] = {}
        for key, prop in spec.get("properties", {}).items():
            keys[key] = prop.get("description", "")
            if prop.get("writeOnly"):
                keys[key] += f" [secret: {_secret_state(settings, table, key)}]"
    return described


def _secret_state(settings: Settings | None, table: str, key: str) -> str:
    if settings is None:
        return "not read"
    values = [getattr(t, key) for t in _tables(settings) if type(t).__name__ == table]
    return "set" if any(values) else "not set"


def _tables(value: Any) -> Iterator[Struct]:
    """Every settings table in `value`, nested ones included."""
    if isinstance(value, Struct):
        yield value
        for name in value.__struct_fields__:
            yield from _tables(getattr(value, name))
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _tables(item)
