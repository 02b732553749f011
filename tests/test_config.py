"""Settings load from defaults, a TOML file and the environment, strictly."""

from __future__ import annotations

import json

import pytest

from pricefeed.chain.chains import Chains
from pricefeed.chain.rpc.redact import redact_url
from pricefeed.config import MULTICALL3, ConfigError, describe_settings, load_settings

ISSUE_SHAPE = """
[chains.devchain]
chain_id = 31337
rpc_urls = ["http://127.0.0.1:8545", "http://127.0.0.1:8546"]
multicall = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
block_time = 2
[[chains.devchain.dexes]]
kind = "uniswap_v2"
name = "uniswap-v2"
factory = "0x0000000000000000000000000000000000000001"
router = "0x0000000000000000000000000000000000000002"
[[chains.devchain.dexes]]
kind = "uniswap_v3"
name = "uniswap-v3"
factory = "0x0000000000000000000000000000000000000003"
quoter = "0x0000000000000000000000000000000000000004"
fees = [500, 3000, 10000]
[[chains.devchain.tokens]]
symbol = "USDC"
address = "0x00000000000000000000000000000000000000c6"
decimals = 6
[[chains.devchain.tokens]]
symbol = "WETH"
address = "0x00000000000000000000000000000000000000e1"
decimals = 18
"""


@pytest.fixture
def write(tmp_path):
    def write(text: str):
        path = tmp_path / "pricefeed.toml"
        path.write_text(text)
        return path

    return write


def test_the_documented_shape_loads_beside_the_built_in_chains(write):
    settings = load_settings(write(ISSUE_SHAPE), env={})
    chain = settings.chains["devchain"]
    assert chain.rpc_urls == ["http://127.0.0.1:8545", "http://127.0.0.1:8546"]
    assert [type(d).__name__ for d in chain.dexes] == ["UniswapV2Dex", "UniswapV3Dex"]
    assert chain.dexes[1].fees == [500, 3000, 10000]
    assert set(settings.chains) == {"ethereum", "polygon", "arbitrum", "base", "devchain"}


def test_built_in_defaults_cover_four_mainnets():
    chains = Chains(load_settings(env={}))
    for name, chain_id in [("Ethereum", 1), ("Polygon", 137), ("Arbitrum", 42161), ("Base", 8453)]:
        chain = chains.get(name)
        assert chains.get(chain_id) is chain
        assert chain.settings.multicall == MULTICALL3
        assert {type(d).__name__ for d in chain.dexes} == {"UniswapV2Dex", "UniswapV3Dex"}
        assert chain.token("usdc").decimals == 6
        assert len(chain.settings.rpc_urls) >= 2
    assert "quickswap" in [d.name for d in chains.get("polygon").dexes]


def test_a_file_overrides_a_built_in_chain_key_by_key(write):
    path = write('[chains.ethereum]\nrpc_urls = ["https://my-node.example/rpc"]\n')
    ethereum = load_settings(path, env={}).chains["ethereum"]
    assert ethereum.rpc_urls == ["https://my-node.example/rpc"]
    assert ethereum.tokens  # kept from the defaults


def test_the_environment_overrides_any_key(write):
    env = {
        "PRICEFEED__SERVER__PORT": "9000",
        "PRICEFEED__CHAINS__DEVCHAIN__RPC_URLS": '["http://127.0.0.1:9999"]',
    }
    settings = load_settings(write(ISSUE_SHAPE), env=env)
    assert settings.server.port == 9000
    assert settings.chains["devchain"].rpc_urls == ["http://127.0.0.1:9999"]


def test_pricefeed_config_names_the_file(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(ISSUE_SHAPE)
    assert "devchain" in load_settings(env={"PRICEFEED_CONFIG": str(path)}).chains
    assert "devchain" in load_settings(env={}).chains  # ./pricefeed.toml
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"PRICEFEED_CONFIG": str(tmp_path / "missing.toml")})


def test_infura_key_adds_an_endpoint_that_is_always_shown_redacted():
    key = "0123456789abcdef0123456789abcdef"
    ethereum = load_settings(env={"INFURA_KEY": key}).chains["ethereum"]
    assert ethereum.rpc_urls[0] == f"https://mainnet.infura.io/v3/{key}"
    assert redact_url(ethereum.rpc_urls[0]) == "https://mainnet.infura.io/***"


def test_the_admin_token_and_the_infura_key_keep_their_environment_names(write):
    token, key = "t" * 40, "k" * 32
    named = load_settings(env={"PRICEFEED_ADMIN_TOKEN": token, "INFURA_KEY": key})
    in_file = write(f'infura_key = "{key}"\n[server]\nadmin_token = "{token}"\n')
    over_file = load_settings(in_file, env={"PRICEFEED_ADMIN_TOKEN": "u" * 40})
    unset = load_settings(env={"PRICEFEED_ADMIN_TOKEN": "", "INFURA_KEY": ""})

    assert (named.server.admin_token, named.infura_key) == (token, key)
    assert (over_file.server.admin_token, over_file.infura_key) == ("u" * 40, key)
    assert (unset.server.admin_token, unset.infura_key) == ("", "")
    assert not unset.chains["ethereum"].rpc_urls[0].startswith("https://mainnet.infura.io")


def test_secrets_are_described_as_set_or_not_never_shown():
    token, key = "t" * 40, "k" * 32
    shown = describe_settings(
        load_settings(env={"PRICEFEED_ADMIN_TOKEN": token, "INFURA_KEY": key})
    )
    unset = describe_settings(load_settings(env={}))

    assert token not in repr(shown) and key not in repr(shown)
    assert shown["ServerSettings"]["admin_token"].endswith("[secret: set]")
    assert shown["Settings"]["infura_key"].endswith("[secret: set]")
    assert unset["ServerSettings"]["admin_token"].endswith("[secret: not set]")
    assert unset["Settings"]["infura_key"].endswith("[secret: not set]")
    assert shown["ServerSettings"]["secret"].endswith("[secret: not set]")


def test_uniswap_token_lists_add_tokens_to_their_chain(write, tmp_path):
    token_list = {
        "name": "test list",
        "tokens": [
            {
                "chainId": 31337,
                "address": "0x00000000000000000000000000000000000000d1",
                "symbol": "DAI",
                "decimals": 18,
                "name": "Dai",
            },
            {
                "chainId": 999,
                "address": "0x00000000000000000000000000000000000000d2",
                "symbol": "XYZ",
                "decimals": 9,
                "name": "elsewhere",
            },
        ],
    }
    list_path = tmp_path / "list.json"
    list_path.write_text(json.dumps(token_list))
    settings = load_settings(write(f'token_lists = ["{list_path}"]\n' + ISSUE_SHAPE), env={})
    chain = Chains(settings).get("devchain")
    assert chain.token("dai").decimals == 18
    assert chain.token("0x00000000000000000000000000000000000000D1").symbol == "DAI"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ISSUE_SHAPE.replace("chain_id = 31337", 'chain_id = "x"'),
            r"chains\.devchain\.chain_id: Expected `int`",
        ),
        (
            ISSUE_SHAPE.replace(
                'factory = "0x0000000000000000000000000000000000000003"', 'factory = "0x12"'
            ),
            r"chains\.devchain\.dexes\[1\]\.factory: Expected `str` matching regex",
        ),
        (
            ISSUE_SHAPE.replace('kind = "uniswap_v2"', 'kind = "curve"'),
            r"chains\.devchain\.dexes\[0\]\.kind: Invalid value 'curve'",
        ),
        (
            ISSUE_SHAPE.replace("block_time = 2", "block_tme = 2"),
            r"chains\.devchain: Object contains unknown field `block_tme`",
        ),
        (
            ISSUE_SHAPE.replace('"http://127.0.0.1:8546"', '"ftp://x"'),
            r"chains\.devchain\.rpc_urls\[1\]: must be an http\(s\) URL",
        ),
        (
            ISSUE_SHAPE
            + '\n[chains.other]\nchain_id = 31337\nrpc_urls = ["http://x"]\nhubs = []\n',
            r"chains\.other\.chain_id: 31337 is also devchain's",
        ),
        (
            ISSUE_SHAPE.replace("block_time = 2", 'block_time = 2\nhubs = ["WBTC"]'),
            r"chains\.devchain\.hubs: 'WBTC' is not one",
        ),
        ("[chains.devchain\n", "not valid TOML"),
    ],
)
def test_a_bad_config_names_the_key_and_the_problem(write, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(text), env={})


def test_a_bad_environment_value_names_the_key():
    with pytest.raises(ConfigError, match=r"server\.port: Expected `int`, got `str`"):
        load_settings(env={"PRICEFEED__SERVER__PORT": "eighty"})


def test_every_setting_has_help_text():
    undocumented = [
        f"{table}.{key}"
        for table, keys in describe_settings().items()
        for key, text in keys.items()
        if not text and key != "kind"  # the tag that picks the dex adapter
    ]
    assert undocumented == []
