"""Tokens that are not configured, learned from the chain by address."""

from __future__ import annotations

import re
import unicodedata

from eth_abi.exceptions import DecodingError
from eth_utils import to_checksum_address

from pricefeed.chain.multicall import Fn
from pricefeed.chain.pools import RunCalls
from pricefeed.errors import UnknownToken
from pricefeed.model import Token

DECIMALS = Fn("decimals()", ["uint8"])
SYMBOL = Fn("symbol()", ["string"])
SYMBOL_BYTES32 = Fn("symbol()", ["bytes32"])  # MKR-era tokens
NAME = Fn("name()", ["string"])
MAX_SYMBOL_CHARS, MAX_NAME_CHARS = 32, 64
_TAG = re.compile(r"<[^<>]*>")
_MARKUP = frozenset("<>\"'`&")


async def fetch_tokens(
    addresses: list[str], chain_name: str, run_calls: RunCalls
) -> list[Token | UnknownToken]:
    """Read the decimals, symbol and name of many ERC-20s in one batch of calls: each answer
    is the token, or UnknownToken if the address holds none."""
    checksummed = [to_checksum_address(a) for a in addresses]
    fns = (DECIMALS, SYMBOL, NAME)
    answers = await run_calls([f.call(a) for a in checksummed for f in fns])
    return [
        _token(address, chain_name, *answers[i * len(fns) : (i + 1) * len(fns)])
        for i, address in enumerate(checksummed)
    ]


def _token(address: str, chain_name: str, decimals, symbol, name) -> Token | UnknownToken:
    (ok_decimals, raw_decimals), (ok_symbol, raw_symbol), (ok_name, raw_name) = (
        decimals,
        symbol,
        name,
    )
    try:
        if not ok_decimals:
            raise DecodingError("decimals() reverted")
        (decimals_value,) = DECIMALS.decode(raw_decimals)
    except DecodingError:
        return UnknownToken(f"{address} on {chain_name} is not an ERC-20 token")
    return Token(
        symbol=clean_text(_text(raw_symbol, ok_symbol), MAX_SYMBOL_CHARS) or address[:10],
        address=address,
        decimals=decimals_value,
        name=clean_text(_text(raw_name, ok_name), MAX_NAME_CHARS),
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
