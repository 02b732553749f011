"""Retention: what grows with traffic (quotes, price history, pairs) is forgotten when nobody
asks for it, in short batched writes."""

from __future__ import annotations

from sqlalchemy import and_, func, select, true

from pricefeed.store.database import Database
from pricefeed.store.schema import pairs, price_history, quotes


class Retention(Database):
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
