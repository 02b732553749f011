"""Stored demand (popularity, request counts, amounts asked) and the refresh work it makes due:
which quotes are due, and the claims that keep two jobs off one quote."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pricefeed.model import PairKey, QuoteKey
from pricefeed.serving.tiers import Tier
from pricefeed.store.database import Database
from pricefeed.store.pairs import pair_ids
from pricefeed.store.schema import pairs, quotes


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


class DemandStore(Database):
    async def record_demand(self, demand: list[Demand]) -> None:
        """Popularity and request counts of many pairs, and when each amount was asked for."""
        if not demand:
            return
        async with self._write() as conn:
            ids = await pair_ids(conn, {d.key: d.symbols for d in demand})
            for d in demand:
                await _add_demand(conn, ids[d.key], d)

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
        latest = _latest_amounts(now - recent)
        query = (
            select(
                pairs.c.chain, pairs.c.token_in, pairs.c.token_out, quotes.c.amount_in, pairs.c.tier
            )
            .join(pairs)
            .join(latest, latest.c.id == quotes.c.id)
            .where(latest.c.rank <= per_pair)
            .where(or_(*overdue))
            .where(_unclaimed(now))
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
                    .where(_unclaimed(now))
                    .values(queued_until=until)
                )
                if result.rowcount == 1:
                    claimed.append(key)
        return claimed


async def _add_demand(conn: AsyncConnection, pair_id: int, d: Demand) -> None:
    await conn.execute(
        update(pairs)
        .where(pairs.c.id == pair_id)
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
            .where(quotes.c.pair_id == pair_id, quotes.c.amount_in == str(amount))
            .values(requested_at=at)
        )


def _latest_amounts(since: float):
    """Quotes asked for since then, ranked within their pair by how recently (1: last)."""
    return (
        select(
            quotes.c.id,
            func.row_number()
            .over(partition_by=quotes.c.pair_id, order_by=quotes.c.requested_at.desc())
            .label("rank"),
        )
        .where(quotes.c.requested_at >= since)
        .subquery()
    )


def _unclaimed(now: float):
    return or_(quotes.c.queued_until.is_(None), quotes.c.queued_until < now)
