"""Stored quotes (each the quote's wire form) and the price history their saves append."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from pricefeed.model import PairKey, Quote, QuoteKey, decode_quote, encode_quote
from pricefeed.store.database import Database, insert
from pricefeed.store.pairs import pair_ids
from pricefeed.store.schema import pairs, price_history, quotes

# what a newer save of a quote replaces; requested_at is demand's, and stays
REPLACED = ("body", "block_number", "fetched_at", "queued_until")


@dataclass(frozen=True)
class StoredQuote:
    quote: Quote
    fetched_at: float  # epoch seconds
    tier: int


class QuoteStore(Database):
    async def load_quote(self, key: QuoteKey) -> StoredQuote | None:
        async with self._read() as conn:
            rows = await conn.execute(
                _quotes_query()
                .where(tuple_(pairs.c.chain, pairs.c.token_in, pairs.c.token_out) == key.pair)
                .where(quotes.c.amount_in == str(key.amount))
            )
            return next((_stored(r) for r in rows.mappings()), None)

    async def recent_quotes(self, limit: int) -> list[StoredQuote]:
        """The most recently requested quotes, to warm the memory cache after a restart."""
        query = _quotes_query().order_by(quotes.c.requested_at.desc().nulls_last()).limit(limit)
        async with self._read() as conn:
            return [_stored(r) for r in (await conn.execute(query)).mappings()]

    async def latest_quotes(self) -> dict[int, StoredQuote]:
        """Each pair's most recently fetched quote, by pair id."""
        newest = (
            select(quotes.c.pair_id, func.max(quotes.c.fetched_at).label("at"))
            .group_by(quotes.c.pair_id)
            .subquery()
        )
        query = (
            select(quotes.c.pair_id, quotes.c.body, quotes.c.fetched_at, pairs.c.tier)
            .join(pairs)
            .join(
                newest,
                and_(newest.c.pair_id == quotes.c.pair_id, newest.c.at == quotes.c.fetched_at),
            )
        )
        async with self._read() as conn:
            return {r["pair_id"]: _stored(r) for r in (await conn.execute(query)).mappings()}

    async def save_quotes(self, fresh: list[Quote]) -> None:
        """Upsert quotes (and their pairs) in one transaction; releases their refresh claims."""
        if not fresh:
            return
        async with self._write() as conn:
            ids = await pair_ids(conn, {_pair_key(q): _symbols(q) for q in fresh})
            rows = [_quote_row(q, ids[_pair_key(q)]) for q in fresh]
            await conn.execute(_upsert(conn), rows)  # executemany: compiled once, then cached
            await conn.execute(
                price_history.insert(),
                [_history_row(q, r) for q, r in zip(fresh, rows, strict=True)],
            )


def _quotes_query() -> Select:
    return select(quotes.c.body, quotes.c.fetched_at, pairs.c.tier).join(pairs)


def _upsert(conn: AsyncConnection):
    stmt = insert(conn, quotes)
    return stmt.on_conflict_do_update(
        index_elements=["pair_id", "amount_in"],
        set_={c: stmt.excluded[c] for c in REPLACED},
        where=quotes.c.block_number <= stmt.excluded.block_number,  # never go back
    )


def _quote_row(q: Quote, pair_id: int) -> dict:
    return {
        "pair_id": pair_id,
        "amount_in": str(q.amount_in_raw),
        "body": encode_quote(q).decode(),
        "block_number": q.block_number,
        "fetched_at": q.fetched_at.timestamp(),
        "queued_until": None,
    }


def _history_row(q: Quote, row: dict) -> dict:
    return {
        "pair_id": row["pair_id"],
        "amount_in": row["amount_in"],
        "price": q.price,
        "block_number": q.block_number,
        "fetched_at": row["fetched_at"],
    }


def _stored(row) -> StoredQuote:
    return StoredQuote(decode_quote(row["body"]), row["fetched_at"], row["tier"])


def _pair_key(q: Quote) -> PairKey:
    return PairKey(q.chain, q.token_in.address, q.token_out.address)


def _symbols(q: Quote) -> tuple[str, str]:
    return (q.token_in.symbol, q.token_out.symbol)
