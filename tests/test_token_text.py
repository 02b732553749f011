"""A token's symbol and name come from its contract, so from anyone: they are cut short and
stripped of markup and control characters before they are stored or shown."""

from __future__ import annotations

from conftest import deploy_unlisted_token

from pricefeed.chain.tokens import MAX_NAME_CHARS, MAX_SYMBOL_CHARS

LINK = '<a href="https://evil.example/">'
SYMBOL = f"{LINK}CLICK</a>\u202e\x00" + "Y" * 20_000
NAME = f"<script>alert(1)</script>Free\n\tmoney {LINK}" + "Z" * 20_000


async def test_a_symbol_with_markup_is_cut_and_cleaned_everywhere(service, devchain):
    address = deploy_unlisted_token(devchain, name=NAME, symbol=SYMBOL)
    async with service(sections={"dashboard": {"public_read": True}}) as client:
        quote = (await client.get(f"/price/devchain/{address}/WETH?amount=1")).json()
        await client.app.state.feed.flush()  # the pair row, with its symbols, reaches the store
        stored = {p["token_in"]: p for p in await client.app.state.store.pairs()}[address]
        page = (await client.get(f"/dashboard/pairs/devchain/{address}/WETH")).text
        listing = (await client.get("/dashboard/pairs?q=CLICK")).text
        token = client.app.state.engine.chains.get("devchain").token(address)

    symbol = quote["tokenIn"]["symbol"]
    assert symbol == ("CLICK" + "Y" * 20_000)[:MAX_SYMBOL_CHARS]
    assert token.name == ("alert(1)Free money " + "Z" * 20_000)[:MAX_NAME_CHARS]
    assert stored["symbol_in"] == symbol
    for text in (page, listing):
        assert "evil.example" not in text
        assert "\u202e" not in text
        assert symbol in text  # shown, as text
