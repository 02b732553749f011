"""Tokens that are not configured, learned from the chain by address."""

from __future__ import annotations

import re
import unicodedata

from eth_abi.exceptions import DecodingError
from eth_utils import to_checksum_address

from pricefeed.chains import Token
from pricefeed.errors import UnknownToken
from pricefeed.multicall import Fn
from pricefeed.pools import RunCalls

DECIMALS = Fn("decimals()", ["uint8"])
SYMBOL = Fn("symbol()", ["string"])
SYMBOL_BYTES32 = Fn("symbol()", ["bytes32"])  # MKR-era tokens
NAME = Fn("name()", ["string"])
MAX_SYMBOL_CHARS, MAX_NAME_CHARS = 32, 64
_TAG = re.compile(r"<[^<>]*>")
_MARKUP = frozenset("<>\"'`&")


async def fetch_token(address: str, chain_name: str, run_calls: RunCalls) -> Token:
    """Read an ERC-20's decimals and symbol in one batch; UnknownToken if it is not one."""
    address = to_checksum_address(address)
    answers = await run_calls([f.call(address) for f in (DECIMALS, SYMBOL, NAME)])
    (ok_decimals, decimals), (ok_symbol, symbol), (ok_name, name) = answers
    try:
        if not ok_decimals:
            raise DecodingError("decimals() reverted")
        (decimals_value,) = DECIMALS.decode(decimals)
    except DecodingError:
        raise UnknownToken(f"{address} on {chain_name} is not an ERC-20 token") from None
    return Token(
        symbol=clean_text(_text(symbol, ok_symbol), MAX_SYMBOL_CHARS) or address[:10],
        address=address,
        decimals=decimals_value,
        name=clean_text(_text(name, ok_name), MAX_NAME_CHARS),
    )


def clean_text(text: str, limit: int) -> str:
    """A contract's own words, made safe to store and show: tags and the characters that make
    markup removed, control and format characters (bidi overrides included) dropped, spaces
    collapsed, then cut to `limit` characters."""
    text = _TAG.sub("", text)
    text = "".join(
        " " if c.isspace() else c
        for c in text
        if c not in _MARKUP and (c.isspace() or not unicodedata.category(c).startswith("C"))
    )
    return " ".join(text.split())[:limit]


def _text(data: bytes, ok: bool) -> str:
    if not ok:
        return ""
    try:
        return SYMBOL.decode(data)[0]
    except DecodingError:
        try:
            return SYMBOL_BYTES32.decode(data)[0].rstrip(b"\0").decode(errors="replace")
        except DecodingError:
            return ""
