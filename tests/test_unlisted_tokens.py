"""Any ERC-20 can be quoted by address: its decimals and symbol are read from the chain."""

from __future__ import annotations

from conftest import deploy_unlisted_token


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
