"""Stored pairs and their tiers: the rows every quote, demand count and chart hangs from."""

from __future__ import annotations

import msgspec
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pricefeed.model import PairKey
from pricefeed.serving.tiers import Tier
from pricefeed.store.database import Database, insert
from pricefeed.store.schema import pairs, tier_settings

PAIR_COLUMNS = (
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


class PairStore(Database):
    async def pairs(self) -> list[dict]:
        columns = [pairs.c[c] for c in PAIR_COLUMNS]
        async with self._read() as conn:
            return [dict(r) for r in (await conn.execute(select(*columns))).mappings()]

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
            ids = await pair_ids(conn, {key: symbols})
            values = {"pinned_tier": tier} | ({"tier": tier} if tier is not None else {})
            await conn.execute(update(pairs).where(pairs.c.id == ids[key]).values(values))

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


async def pair_ids(
    conn: AsyncConnection, keys: dict[PairKey, tuple[str, str]]
) -> dict[PairKey, int]:
    """The row id of each pair (key -> its symbols), inserting the pairs not stored yet."""
    stmt = insert(conn, pairs).values(
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
    return {PairKey(r.chain, r.token_in, r.token_out): r.id for r in rows}
