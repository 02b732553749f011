"""Chart history: metric samples, and the price history of a pair."""

from __future__ import annotations

from sqlalchemy import select, tuple_

from pricefeed.model import PairKey
from pricefeed.store.database import Database
from pricefeed.store.schema import metric_samples, pairs, price_history


class SampleStore(Database):
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
