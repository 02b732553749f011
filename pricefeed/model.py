"""Value types every layer shares, and the one wire form of a quote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Self

import msgspec


class PairKey(NamedTuple):
    """A directed pair on a chain: the key of its tier, demand and stored rows."""

    chain: str
    token_in: str  # address
    token_out: str  # address


class QuoteKey(NamedTuple):
    """A pair and a raw amount in: the key of a quote."""

    chain: str
    token_in: str
    token_out: str
    amount: int  # raw units of token_in

    @property
    def pair(self) -> PairKey:
        return PairKey(self.chain, self.token_in, self.token_out)


class Token(msgspec.Struct, frozen=True):
    symbol: str
    address: str  # checksummed
    decimals: int
    name: str = ""


class RouteHop(msgspec.Struct, kw_only=True, rename="camel"):
    dex: str
    kind: str
    pool: str
    fee: int | None
    token_in: str
    token_out: str


class Quote(msgspec.Struct, kw_only=True, rename="camel"):
    chain: str
    chain_id: int
    token_in: Token
    token_out: Token
    amount_in: str
    amount_in_raw: int
    amount_out: str
    amount_out_raw: int
    price: str  # tokenOut per tokenIn, for this amount
    route: list[RouteHop]
    block_number: int
    block_hash: str
    fetched_at: datetime


@dataclass(frozen=True)
class QuoteRequest:
    token_in: Token
    token_out: Token
    amount_in: int  # raw units


class TokenInfo(msgspec.Struct):
    symbol: str
    address: str
    decimals: int


class QuoteBody(msgspec.Struct, rename="camel", kw_only=True):
    """A quote as JSON carries it (the API, the CLI, the store): raw amounts as decimal
    strings, since JSON readers lose big integers."""

    chain: str
    chain_id: int
    token_in: TokenInfo
    token_out: TokenInfo
    amount_in: str
    amount_in_raw: str
    amount_out: str
    amount_out_raw: str
    price: str
    route: list[RouteHop]
    block_number: int
    block_hash: str
    fetched_at: str  # ISO 8601, UTC

    @classmethod
    def of(cls, q: Quote, **more) -> Self:
        """The wire form of `q`; `more` fills the fields a subclass adds."""
        return cls(
            chain=q.chain,
            chain_id=q.chain_id,
            token_in=TokenInfo(q.token_in.symbol, q.token_in.address, q.token_in.decimals),
            token_out=TokenInfo(q.token_out.symbol, q.token_out.address, q.token_out.decimals),
            amount_in=q.amount_in,
            amount_in_raw=str(q.amount_in_raw),
            amount_out=q.amount_out,
            amount_out_raw=str(q.amount_out_raw),
            price=q.price,
            route=q.route,
            block_number=q.block_number,
            block_hash=q.block_hash,
            fetched_at=q.fetched_at.isoformat().replace("+00:00", "Z"),
            **more,
        )


_encoder = msgspec.json.Encoder()


def encode_quote(q: Quote) -> bytes:
    """The JSON of `q`'s wire form."""
    return _encoder.encode(QuoteBody.of(q))


def decode_quote(data: bytes | str) -> Quote:
    """A Quote from its wire form. Lenient (strict=False: raw amounts as strings or numbers),
    so rows stored before there was one wire form, msgspec's encoding of the Quote itself with
    numeric raw amounts and token names, load too."""
    return msgspec.json.decode(data, type=Quote, strict=False)
