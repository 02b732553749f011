"""Bad input gets a typed error with a clear message, before any RPC work is done."""

from __future__ import annotations

import pytest

from pricefeed.errors import (
    BadAddress,
    BadAmount,
    NoRoute,
    PricefeedError,
    UnknownChain,
    UnknownToken,
)


async def test_an_unknown_chain_lists_the_known_ones(engine):
    with pytest.raises(UnknownChain, match="no chain 'mars'; known: devchain"):
        await engine.request("mars", "WETH", "USDC")


@pytest.mark.parametrize("ref", ["devchain", "DevChain", "DEVCHAIN", "31337", 31337])
async def test_chains_are_found_by_any_case_name_or_by_id(engine, ref):
    assert engine.chains.get(ref).chain_id == 31337


async def test_an_unknown_token_names_the_chain_and_known_symbols(engine):
    with pytest.raises(UnknownToken, match=r"no token 'FOO' on devchain; known: DAI, LINK"):
        await engine.request("devchain", "FOO", "USDC")


async def test_an_address_without_a_token_contract_is_an_unknown_token(engine):
    with pytest.raises(UnknownToken, match=r"0x0+AA on devchain is not an ERC-20 token"):
        await engine.request("devchain", "0x00000000000000000000000000000000000000aa", "USDC")


@pytest.mark.parametrize("ref", ["0x123", "0x" + "zz" * 20, "0x" + "ab" * 21])
async def test_a_malformed_address_is_a_bad_address(engine, ref):
    with pytest.raises(BadAddress, match="expected 0x and 40 hex digits"):
        await engine.request("devchain", ref, "USDC")


async def test_tokens_are_found_by_symbol_or_address_in_any_case(engine, devchain):
    weth = devchain.tokens["WETH"]
    for ref in ("WETH", "weth", "wEtH", weth, weth.lower(), "0x" + weth[2:].upper()):
        _, request = await engine.request("devchain", ref, "usdc")
        assert request.token_in.address == weth


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "not a plain decimal number"),
        ("abc", "not a plain decimal number"),
        ("1.2.3", "not a plain decimal number"),
        ("1e6", "not a plain decimal number"),
        ("1,5", "not a plain decimal number"),
        ("0", "greater than zero"),
        ("0.000", "greater than zero"),
        ("-1", "greater than zero"),
        ("0.0000001", "more than the token's 6 decimal places"),
        ("1" + "0" * 40, "too large"),
    ],
)
async def test_bad_amounts_are_refused_with_the_reason(engine, amount, message):
    with pytest.raises(BadAmount, match=message):
        await engine.request("devchain", "USDC", "WETH", amount)


async def test_the_same_token_on_both_sides_is_refused(engine):
    with pytest.raises(PricefeedError, match="both WETH"):
        await engine.request("devchain", "WETH", "weth")


@pytest.mark.parametrize(("a", "b"), [("DAI", "UNI"), ("NOPE", "USDC"), ("WETH", "NOPE")])
async def test_pairs_without_any_pool_are_no_route(engine, a, b):
    with pytest.raises(NoRoute, match=f"no route with liquidity for {a}->{b} on devchain"):
        await engine.quote("devchain", a, b, "1")


async def test_an_amount_too_small_to_buy_anything_is_no_route(engine):
    with pytest.raises(NoRoute, match="too small to buy any WBTC"):
        await engine.quote("devchain", "USDC", "WBTC", "0.000001")


async def test_an_amount_no_route_can_fill_is_no_route(engine):
    with pytest.raises(
        NoRoute, match=r"no route for DAI->LINK on devchain can fill this amount \(\d+ tried"
    ):
        await engine.quote("devchain", "DAI", "LINK", "0.000000000001")


# each kind of bad input, asked through the API; the NOPE token has no pool at all
ASKED = {
    UnknownChain: "/price/mars/WETH/USDC",
    UnknownToken: "/price/devchain/FOO/USDC",
    BadAddress: "/price/devchain/0x12345/USDC",
    BadAmount: "/price/devchain/WETH/USDC?amount=-1",
    NoRoute: "/price/devchain/NOPE/WETH",
}


@pytest.mark.parametrize("kind", list(ASKED), ids=lambda k: k.__name__)
async def test_every_error_answers_with_its_own_code_and_a_4xx_status(service, kind):
    async with service() as client:
        answer = await client.get(ASKED[kind])
    assert kind.code != PricefeedError.code and 400 <= kind.status < 500
    assert answer.status_code == kind.status
    assert answer.json()["error"]["code"] == kind.code
