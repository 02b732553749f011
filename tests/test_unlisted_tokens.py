"""Any ERC-20 can be quoted by address: its decimals and symbol are read from the chain."""

from __future__ import annotations

from web3 import Web3

from pricefeed.devchain.build import ensure_contracts, uniswap_artifact
from pricefeed.devchain.deploy import DEADLINE


def deploy_unlisted_token(devchain) -> str:
    """A 9-decimal token the config has never heard of, in a V2 pool against WETH."""
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    me = devchain.deployer
    art = ensure_contracts()["DevToken"]
    tx = w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor("Long Tail", "TAIL", 9)
    token = w3.eth.contract(
        w3.eth.wait_for_transaction_receipt(tx.transact({"from": me})).contractAddress, abi=art.abi
    )
    token.functions.mint(me, 10**18).transact({"from": me})
    token.functions.approve(devchain.v2_router, 2**256 - 1).transact({"from": me})
    router = w3.eth.contract(devchain.v2_router, abi=uniswap_artifact("UniswapV2Router02").abi)
    router.functions.addLiquidity(
        token.address, devchain.tokens["WETH"], 1_000_000 * 10**9, 10 * 10**18, 0, 0, me, DEADLINE
    ).transact({"from": me})
    return token.address


async def test_an_unlisted_token_is_quoted_by_address(engine, devchain):
    address = deploy_unlisted_token(devchain)

    quote = await engine.quote("devchain", address.lower(), "WETH", "1000")

    assert quote.token_in.symbol == "TAIL"
    assert quote.token_in.decimals == 9
    assert quote.amount_in_raw == 1000 * 10**9
    assert quote.route[0].dex == "uniswap-v2"
    # 1000 of 1,000,000 TAIL against 10 WETH: a little under 0.01 WETH after fee and slippage
    assert 9_000_000_000_000_000 < quote.amount_out_raw < 10_000_000_000_000_000


async def test_an_unlisted_token_is_found_by_address_only(engine, devchain):
    address = deploy_unlisted_token(devchain)
    await engine.quote("devchain", address, "USDC", "1")  # routed through WETH

    chain = engine.chains.get("devchain")
    assert chain.token(address.upper().replace("0X", "0x")).symbol == "TAIL"
    assert "TAIL" not in [t.symbol for t in chain.tokens]  # symbols stay the config's
