"""Settings: built-in defaults, then a TOML file, then environment overrides, parsed strictly.

Every setting is declared once, with its default and its help text: a chain's in `chain`, the
service's in `settings`. `loading` reads them; a bad value stops start-up with a `ConfigError`
naming the key and the problem. `help` lists them for `pricefeed settings`.
"""

from pricefeed.config.chain import (
    MULTICALL3,
    ChainSettings,
    Dex,
    RpcSettings,
    TokenSettings,
    UniswapV2Dex,
    UniswapV3Dex,
)
from pricefeed.config.help import describe_settings
from pricefeed.config.loading import (
    DEFAULTS_FILE,
    ENV_ALIASES,
    ENV_PREFIX,
    ConfigError,
    config_path,
    load_settings,
)
from pricefeed.config.section import Address, Section, doc
from pricefeed.config.settings import (
    ADMIN_TOKEN_VARIABLE,
    INFURA_KEY_VARIABLE,
    CacheSettings,
    DashboardSettings,
    DatabaseSettings,
    MetricsSettings,
    QueueSettings,
    ServerSettings,
    Settings,
    StateSettings,
)

__all__ = [
    "ADMIN_TOKEN_VARIABLE",
    "DEFAULTS_FILE",
    "ENV_ALIASES",
    "ENV_PREFIX",
    "INFURA_KEY_VARIABLE",
    "MULTICALL3",
    "Address",
    "CacheSettings",
    "ChainSettings",
    "ConfigError",
    "DashboardSettings",
    "DatabaseSettings",
    "Dex",
    "MetricsSettings",
    "QueueSettings",
    "RpcSettings",
    "Section",
    "ServerSettings",
    "Settings",
    "StateSettings",
    "TokenSettings",
    "UniswapV2Dex",
    "UniswapV3Dex",
    "config_path",
    "describe_settings",
    "doc",
    "load_settings",
]
