"""Loading the settings: built-in defaults, then a TOML file, then environment overrides (and
two older variable names), then Uniswap token lists, parsed strictly and checked."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from pricefeed.config.chain import ChainSettings, TokenSettings
from pricefeed.config.section import Address
from pricefeed.config.settings import ADMIN_TOKEN_VARIABLE, INFURA_KEY_VARIABLE, Settings

DEFAULTS_FILE = Path(__file__).parent.parent / "defaults.toml"
ENV_PREFIX = "PRICEFEED__"
# Two settings keep the names users set before PRICEFEED__ existed; empty counts as unset.
ENV_ALIASES = {
    ADMIN_TOKEN_VARIABLE: ("server", "admin_token"),
    INFURA_KEY_VARIABLE: ("infura_key",),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


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
