"""A stored quote is its wire form (what the API answers), read back exactly; rows written
before there was one wire form (msgspec's encoding of the Quote itself) still load."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from pricefeed.model import Quote, QuoteBody, QuoteKey, RouteHop, Token, encode_quote
from pricefeed.store import Store

WETH = Token("WETH", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 18, "Wrapped Ether")
USDC = Token("USDC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6, "USD Coin")
POOL = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
HOP = RouteHop(
    dex="uniswap_v2", kind="uniswap_v2", pool=POOL, fee=None, token_in="WETH", token_out="USDC"
)
BIG = 2**70  # beyond 64 bits: JSON readers that parse numbers as doubles would round it

# A row as the store wrote it before: raw amounts as JSON numbers, tokens with their names.
OLD_ROW = {
    "chain": "devchain",
    "chainId": 31337,
    "tokenIn": {"symbol": "WETH", "address": WETH.address, "decimals": 18, "name": WETH.name},
    "tokenOut": {"symbol": "USDC", "address": USDC.address, "decimals": 6, "name": USDC.name},
    "amountIn": "1180.591620717411303424",
    "amountInRaw": BIG,
    "amountOut": "3000000.5",
    "amountOutRaw": 3000000500000,
    "price": "2541.0",
    "route": [
        {
            "dex": "uniswap_v2",
            "kind": "uniswap_v2",
            "pool": POOL,
            "fee": None,
            "tokenIn": "WETH",
            "tokenOut": "USDC",
        }
    ],
    "blockNumber": 120,
    "blockHash": "0x" + "ab" * 32,
    "fetchedAt": "2025-01-02T03:04:05.678901Z",
}


def a_quote() -> Quote:
    return Quote(
        chain="devchain",
        chain_id=31337,
        token_in=WETH,
        token_out=USDC,
        amount_in="1180.591620717411303424",
        amount_in_raw=BIG,
        amount_out="3000000.5",
        amount_out_raw=3000000500000,
        price="2541.0",
        route=[HOP],
        block_number=120,
        block_hash="0x" + "ab" * 32,
        fetched_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )


async def a_store(tmp_path) -> tuple[Store, str]:
    path = tmp_path / "store.db"
    store = Store(f"sqlite+aiosqlite:///{path}")
    await store.open()
    return store, str(path)


def key_of(q: Quote) -> QuoteKey:
    return QuoteKey(q.chain, q.token_in.address, q.token_out.address, q.amount_in_raw)


async def test_a_stored_quote_is_its_wire_form_and_reads_back_exactly(tmp_path):
    store, path = await a_store(tmp_path)
    quote = a_quote()
    try:
        await store.save_quotes([quote])
        loaded = await store.load_quote(key_of(quote))
    finally:
        await store.close()

    with sqlite3.connect(path) as db:
        (body,) = db.execute("SELECT body FROM quotes").fetchone()
    assert body.encode() == encode_quote(quote)
    assert json.loads(body)["amountInRaw"] == str(BIG)  # a string: big integers stay exact
    assert loaded is not None
    assert QuoteBody.of(loaded.quote) == QuoteBody.of(quote)
    assert loaded.quote.amount_in_raw == BIG


async def test_a_row_written_before_the_wire_form_still_loads(tmp_path):
    store, path = await a_store(tmp_path)
    quote = a_quote()
    try:
        await store.save_quotes([quote])
        with sqlite3.connect(path) as db:
            db.execute("UPDATE quotes SET body = ?", (json.dumps(OLD_ROW),))
        loaded = await store.load_quote(key_of(quote))
        recent = await store.recent_quotes(10)
    finally:
        await store.close()

    assert loaded is not None
    assert loaded.quote == quote  # the old row kept the token names: nothing is lost
    assert [r.quote for r in recent] == [quote]
