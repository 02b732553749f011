"""Everything the feed keeps, behind one narrow class. SQLite now; the URL picks the backend.

Writes go through one writer engine whose transactions start with BEGIN IMMEDIATE, so a second
process writing the same file waits on the busy timeout instead of failing mid-transaction.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import Select, and_, event, func, or_, select, text, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pricefeed.chain.dexes import Pool
from pricefeed.chain.rpc import Block
from pricefeed.chain.state import ChainState, Restored, state_from_json, state_to_json
from pricefeed.errors import StoreUnavailable
from pricefeed.model import PairKey, Quote, QuoteKey, decode_quote, encode_quote
from pricefeed.resources import resource
from pricefeed.serving.tiers import DEFAULT_TIERS, Tier
from pricefeed.store.schema import (
    chain_heads,
    metric_samples,
    pairs,
    pool_states,
    price_history,
    quotes,
    server_state,
    tier_settings,
)

MIGRATIONS = resource("migrations")


@dataclass(frozen=True)
class StoredQuote:
    quote: Quote
    fetched_at: float  # epoch seconds
    tier: int


@dataclass
class Demand:
    """What the requests of one pair since the last flush add up to."""

    key: PairKey
    symbols: tuple[str, str]
    score: float
    score_at: float
    hits: int = 0
    stale: int = 0
    misses: int = 0
    amounts: dict[int, float] | None = None  # amount -> last requested at


class Store:
    def __init__(self, url: str, busy_timeout_ms: int = 5000, min_free_mb: int = 64):
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self.min_free_mb = min_free_mb
        self._reader: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self.write_error: tuple[float, str] | None = None  # (when, why) of the last failed write

    async def open(self) -> None:
        """Create the database if needed, apply migrations, seed tier settings."""
        if self.url.startswith("sqlite"):
            path = self.url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._migrate)
        self._reader = self._engine(immediate=False)
        self._writer = self._engine(immediate=True)
        async with self._write() as conn:
            if (await conn.execute(select(func.count()).select_from(tier_settings))).scalar() == 0:
                await conn.execute(
                    tier_settings.insert(), [msgspec.structs.asdict(t) for t in DEFAULT_TIERS]
                )

    def _migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url)
        command.upgrade(config, "head")

    def _engine(self, immediate: bool) -> AsyncEngine:
        engine = create_async_engine(self.url, pool_size=1 if immediate else 5)
        if engine.dialect.name == "sqlite":
            timeout = self.busy_timeout_ms

            @event.listens_for(engine.sync_engine, "connect")
            def on_connect(dbapi_connection, _record) -> None:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={timeout}")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine.sync_engine, "begin")
            def on_begin(conn) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def _directory(self) -> Path | None:
        if not self.url.startswith("sqlite"):
            return None
        path = self.url.split(":///", 1)[1]
        return Path(path).resolve().parent if path and path != ":memory:" else None

    @asynccontextmanager
    async def _write(self):
        # SQLite's WAL index is memory-mapped: running out of disk mid-write can end in SIGBUS
        # rather than an error, so writes stop while free space is under the watermark.
        directory = self._directory()
        if directory is not None and (reason := low_on_disk(directory, self.min_free_mb)):
            self.write_error = (time.time(), reason)
            raise StoreUnavailable(f"the database refused a write: {reason}")
        try:
            async with self._writer.begin() as conn:  # type: ignore[union-attr]
                yield conn
        except DBAPIError as e:
            self.write_error = (time.time(), _reason(e))
            raise StoreUnavailable(f"the database refused a write: {_reason(e)}") from None
        self.write_error = None

    @asynccontextmanager
    async def _read(self):
        try:
            async with self._reader.connect() as conn:  # type: ignore[union-attr]
                yield conn
        except DBAPIError as e:
            raise StoreUnavailable(f"the database refused a read: {_reason(e)}") from None

    async def close(self) -> None:
        for engine in (self._reader, self._writer):
            if engine is not None:
                await engine.dispose()

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))

    # named server state

    async def state(self, name: str) -> str | None:
        async with self._read() as conn:
            row = await conn.execute(
                select(server_state.c.value).where(server_state.c.name == name)
            )
            return row.scalar()

    async def set_state(self, name: str, value: str) -> None:
        async with self._write() as conn:
            stmt = self._insert(server_state).values(name=name, value=value)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value})
            )

    # pool state

    async def save_pool_states(self, state: ChainState) -> None:
        """The pools changed since the last save, and the block they are all valid at, in one
        transaction: what is stored is always one block's state. On failure the changes stay
        to be saved next time."""
        if state.head is None:
            return
        changed, state.states.changed = state.states.changed, set()
        evicted, state.states.evicted = state.states.evicted, set()
        held = state.states
        rows = [
            {
                "chain": state.name,
                "address": a,
                "venue": held.pools[a].venue,
                "token0": held.pools[a].token0,
                "token1": held.pools[a].token1,
                "fee": held.pools[a].fee,
                "state": state_to_json(held.v3.get(a) or held.reserves.get(a)),
            }
            for a in changed
        ]
        head = {
            "chain": state.name,
            "block_number": state.head.number,
            "block_hash": state.head.hash,
            "confirmed_at": state.confirmed_at,
        }
        try:
            async with self._write() as conn:
                stmt = self._insert(chain_heads).values(head)
                await conn.execute(stmt.on_conflict_do_update(index_elements=["chain"], set_=head))
                if evicted:
                    await conn.execute(
                        pool_states.delete().where(
                            pool_states.c.chain == state.name,
                            pool_states.c.address.in_(list(evicted)),
                        )
                    )
                if rows:
                    stmt = self._insert(pool_states)
                    await conn.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["chain", "address"],
                            set_={"state": stmt.excluded.state},
                        ),
                        rows,
                    )
        except StoreUnavailable:
            state.states.changed |= changed
            state.states.evicted |= evicted
            raise

    async def pool_states(self) -> dict[str, Restored]:
        """Every chain's saved pool state: (head, confirmed_at, {pool: state})."""
        async with self._read() as conn:
            heads = (await conn.execute(select(chain_heads))).all()
            rows = (await conn.execute(select(pool_states))).all()
        saved: dict[str, Restored] = {
            h.chain: (Block(h.block_number, h.block_hash), h.confirmed_at, {}) for h in heads
        }
        for r in rows:
            if r.chain in saved:
                pool = Pool(r.venue, r.address, r.token0, r.token1, r.fee)
                saved[r.chain][2][pool] = state_from_json(r.state)
        return saved

    # tiers

    async def tiers(self) -> dict[int, Tier]:
        async with self._read() as conn:
            rows = (await conn.execute(select(tier_settings))).mappings()
            return {r["tier"]: Tier(**r) for r in rows}

    async def save_tier(self, tier: Tier) -> None:
        async with self._write() as conn:
            values = msgspec.structs.asdict(tier)
            await conn.execute(
                update(tier_settings).where(tier_settings.c.tier == tier.tier).values(values)
            )

    # quotes

    async def load_quote(self, key: QuoteKey) -> StoredQuote | None:
        async with self._read() as conn:
            rows = await conn.execute(
                self._quotes_query()
                .where(tuple_(pairs.c.chain, pairs.c.token_in, pairs.c.token_out) == key.pair)
                .where(quotes.c.amount_in == str(key.amount))
            )
            return next((_stored(r) for r in rows.mappings()), None)

    async def recent_quotes(self, limit: int) -> list[StoredQuote]:
        """The most recently requested quotes, to warm the memory cache after a restart."""
        query = (
            self._quotes_query().order_by(quotes.c.requested_at.desc().nulls_last()).limit(limit)
        )
        async with self._read() as conn:
            return [_stored(r) for r in (await conn.execute(query)).mappings()]

    @staticmethod
    def _quotes_query() -> Select:
        return select(quotes.c.body, quotes.c.fetched_at, pairs.c.tier).join(pairs)

    async def save_quotes(self, fresh: list[Quote]) -> None:
        """Upsert quotes (and their pairs) in one transaction; releases their refresh claims."""
        if not fresh:
            return
        async with self._write() as conn:
            ids = await self._pair_ids(conn, {_pair_key(q): _symbols(q) for q in fresh})
            rows = [
                {
                    "pair_id": ids[_pair_key(q)],
                    "amount_in": str(q.amount_in_raw),
                    "body": encode_quote(q).decode(),
                    "block_number": q.block_number,
                    "fetched_at": q.fetched_at.timestamp(),
                    "queued_until": None,
                }
                for q in fresh
            ]
            stmt = self._insert(quotes)
            upsert = stmt.on_conflict_do_update(
                index_elements=["pair_id", "amount_in"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("body", "block_number", "fetched_at", "queued_until")
                },
                where=quotes.c.block_number <= stmt.excluded.block_number,  # never go back
            )
            await conn.execute(upsert, rows)  # executemany: compiled once, then from the cache
            await conn.execute(
                price_history.insert(),
                [
                    {
                        "pair_id": r["pair_id"],
                        "amount_in": r["amount_in"],
                        "price": q.price,
                        "block_number": q.block_number,
                        "fetched_at": r["fetched_at"],
                    }
                    for q, r in zip(fresh, rows, strict=True)
                ],
            )

    async def record_demand(self, demand: list[Demand]) -> None:
        """Popularity and request counts of many pairs, and when each amount was asked for."""
        if not demand:
            return
        async with self._write() as conn:
            ids = await self._pair_ids(conn, {d.key: d.symbols for d in demand})
            for d in demand:
                await conn.execute(
                    update(pairs)
                    .where(pairs.c.id == ids[d.key])
                    .values(
                        score=d.score,
                        score_at=d.score_at,
                        hits=pairs.c.hits + d.hits,
                        stale=pairs.c.stale + d.stale,
                        misses=pairs.c.misses + d.misses,
                        last_requested_at=d.score_at,
                    )
                )
                for amount, at in (d.amounts or {}).items():
                    await conn.execute(
                        update(quotes)
                        .where(quotes.c.pair_id == ids[d.key], quotes.c.amount_in == str(amount))
                        .values(requested_at=at)
                    )

    async def _pair_ids(
        self, conn: AsyncConnection, keys: dict[PairKey, tuple[str, str]]
    ) -> dict[PairKey, int]:
        stmt = self._insert(pairs).values(
            [
                {
                    "chain": k.chain,
                    "token_in": k.token_in,
                    "token_out": k.token_out,
                    "symbol_in": s[0],
                    "symbol_out": s[1],
                }
                for k, s in keys.items()
            ]
        )
        await conn.execute(
            stmt.on_conflict_do_nothing(index_elements=["chain", "token_in", "token_out"])
        )
        key_cols = tuple_(pairs.c.chain, pairs.c.token_in, pairs.c.token_out)
        rows = await conn.execute(
            select(pairs.c.id, pairs.c.chain, pairs.c.token_in, pairs.c.token_out).where(
                key_cols.in_(list(keys))
            )
        )
        return {(r.chain, r.token_in, r.token_out): r.id for r in rows}

    def _insert(self, table):
        dialect = self._writer.dialect.name  # type: ignore[union-attr]
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    # pruning: what grows with traffic is forgotten when nobody asks for it

    async def prune(
        self,
        now: float,
        quote_retention: float,
        max_quotes: int,
        history_retention: float,
        pair_retention: float,
    ) -> dict[str, int]:
        """Delete quotes not asked for within `quote_retention` (and the least recently asked
        beyond `max_quotes`), price history older than `history_retention`, and unpinned pairs
        with no quotes left and no request within `pair_retention`. Batched: short writes."""
        asked = func.coalesce(quotes.c.requested_at, quotes.c.fetched_at)
        deleted = {
            "quotes": await self._delete(quotes, asked < now - quote_retention),
            "history": await self._delete(
                price_history, price_history.c.fetched_at < now - history_retention
            ),
        }
        async with self._read() as conn:
            count = (await conn.execute(select(func.count()).select_from(quotes))).scalar() or 0
        if count > max_quotes:
            deleted["quotes"] += await self._delete(
                quotes, true(), order_by=asked, most=count - max_quotes
            )
        deleted["pairs"] = await self._delete(  # their price history goes by cascade
            pairs,
            and_(
                pairs.c.pinned_tier.is_(None),
                func.coalesce(pairs.c.last_requested_at, 0) < now - pair_retention,
                ~select(quotes.c.id).where(quotes.c.pair_id == pairs.c.id).exists(),
            ),
        )
        return deleted

    async def _delete(
        self, table, where, order_by=None, most: int | None = None, batch: int = 5000
    ) -> int:
        """Delete the rows `where` selects (first by `order_by`, at most `most`), `batch` rows
        per transaction, so serving never waits long on the writer."""
        total = 0
        while most is None or total < most:
            size = batch if most is None else min(batch, most - total)
            query = select(table.c.id).where(where).limit(size)
            if order_by is not None:
                query = query.order_by(order_by)
            async with self._read() as conn:
                chosen = [row[0] for row in await conn.execute(query)]
            if chosen:
                async with self._write() as conn:
                    await conn.execute(table.delete().where(table.c.id.in_(chosen)))
            total += len(chosen)
            if len(chosen) < size:
                break
        return total

    # refresh work

    async def due(
        self, now: float, recent: float, tiers: dict[int, Tier], per_pair: int = 8
    ) -> list[tuple[QuoteKey, int]]:
        """Quotes of periodically refreshed tiers that are due, recently wanted and not claimed:
        of each pair, only the `per_pair` amounts asked for last."""
        overdue = [
            and_(pairs.c.tier == t.tier, quotes.c.fetched_at <= now - t.refresh)
            for t in tiers.values()
            if t.refresh is not None
        ]
        if not overdue:
            return []
        latest = (
            select(
                quotes.c.id,
                func.row_number()
                .over(partition_by=quotes.c.pair_id, order_by=quotes.c.requested_at.desc())
                .label("rank"),
            )
            .where(quotes.c.requested_at >= now - recent)
            .subquery()
        )
        query = (
            select(
                pairs.c.chain, pairs.c.token_in, pairs.c.token_out, quotes.c.amount_in, pairs.c.tier
            )
            .join(pairs)
            .join(latest, latest.c.id == quotes.c.id)
            .where(latest.c.rank <= per_pair)
            .where(or_(*overdue))
            .where(or_(quotes.c.queued_until.is_(None), quotes.c.queued_until < now))
            .order_by(pairs.c.tier, quotes.c.fetched_at)
        )
        async with self._read() as conn:
            rows = await conn.execute(query)
            return [
                (QuoteKey(r.chain, r.token_in, r.token_out, int(r.amount_in)), r.tier) for r in rows
            ]

    async def claim(self, keys: Iterable[QuoteKey], until: float, now: float) -> list[QuoteKey]:
        """Mark quotes as queued until `until`; only those no other job holds are returned."""
        claimed = []
        async with self._write() as conn:
            for key in keys:
                pair_id = (
                    select(pairs.c.id)
                    .where(tuple_(pairs.c.chain, pairs.c.token_in, pairs.c.token_out) == key.pair)
                    .scalar_subquery()
                )
                result = await conn.execute(
                    update(quotes)
                    .where(quotes.c.pair_id == pair_id, quotes.c.amount_in == str(key.amount))
                    .where(or_(quotes.c.queued_until.is_(None), quotes.c.queued_until < now))
                    .values(queued_until=until)
                )
                if result.rowcount == 1:
                    claimed.append(key)
        return claimed

    # pairs and tiers

    async def pairs(self) -> list[dict]:
        columns = [
            pairs.c[c]
            for c in (
                "id",
                "chain",
                "token_in",
                "token_out",
                "symbol_in",
                "symbol_out",
                "tier",
                "pinned_tier",
                "score",
                "score_at",
                "hits",
                "stale",
                "misses",
                "last_requested_at",
            )
        ]
        async with self._read() as conn:
            return [dict(r) for r in (await conn.execute(select(*columns))).mappings()]

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

    async def set_tiers(self, changes: dict[int, int]) -> None:
        """pair id -> tier"""
        if not changes:
            return
        async with self._write() as conn:
            for pair_id, tier in changes.items():
                await conn.execute(update(pairs).where(pairs.c.id == pair_id).values(tier=tier))

    async def pin(self, key: PairKey, symbols: tuple[str, str], tier: int | None) -> None:
        """Pin a pair to a tier (None unpins; the next re-ranking places it)."""
        async with self._write() as conn:
            ids = await self._pair_ids(conn, {key: symbols})
            values = {"pinned_tier": tier} | ({"tier": tier} if tier is not None else {})
            await conn.execute(update(pairs).where(pairs.c.id == ids[key]).values(values))

    # metric samples

    async def add_samples(self, at: float, samples: dict[tuple[str, str], float]) -> None:
        async with self._write() as conn:
            await conn.execute(
                metric_samples.insert(),
                [
                    {"at": at, "name": n, "labels": labels, "value": v}
                    for (n, labels), v in samples.items()
                ],
            )

    async def samples(self, name: str, since: float) -> list[tuple[float, str, float]]:
        query = (
            select(metric_samples.c.at, metric_samples.c.labels, metric_samples.c.value)
            .where(metric_samples.c.name == name, metric_samples.c.at >= since)
            .order_by(metric_samples.c.at)
        )
        async with self._read() as conn:
            return [tuple(r) for r in await conn.execute(query)]  # type: ignore[misc]

    async def prices(self, key: PairKey, since: float) -> list[tuple[float, str, str, int]]:
        """(fetched_at, amount_in, price, block) of a pair since then, oldest first."""
        query = (
            select(
                price_history.c.fetched_at,
                price_history.c.amount_in,
                price_history.c.price,
                price_history.c.block_number,
            )
            .join(pairs)
            .where(tuple_(pairs.c.chain, pairs.c.token_in, pairs.c.token_out) == key)
            .where(price_history.c.fetched_at >= since)
            .order_by(price_history.c.fetched_at)
        )
        async with self._read() as conn:
            return [tuple(r) for r in await conn.execute(query)]  # type: ignore[misc]

    async def prune_samples(self, before: float) -> None:
        """Chart history older than `before` goes: metric samples and price history."""
        async with self._write() as conn:
            await conn.execute(metric_samples.delete().where(metric_samples.c.at < before))
            await conn.execute(price_history.delete().where(price_history.c.fetched_at < before))


def low_on_disk(directory: Path, min_free_mb: int) -> str | None:
    """Why writes to `directory` should pause, or None."""
    free = shutil.disk_usage(directory).free
    if free < min_free_mb * 2**20:
        return f"disk nearly full: {free // 2**20} MB free, below the {min_free_mb} MB kept in reserve (database.min_free_mb)"
    return None


def _reason(e: DBAPIError) -> str:
    return str(e.orig) if e.orig is not None else type(e).__name__


def _stored(row) -> StoredQuote:
    return StoredQuote(decode_quote(row["body"]), row["fetched_at"], row["tier"])


def _pair_key(q: Quote) -> PairKey:
    return PairKey(q.chain, q.token_in.address, q.token_out.address)


def _symbols(q: Quote) -> tuple[str, str]:
    return (q.token_in.symbol, q.token_out.symbol)
