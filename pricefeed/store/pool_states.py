"""Stored pool state: each followed chain's head and its pools' state at that block, so a
restart serves at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from pricefeed.chain.dexes import Pool
from pricefeed.chain.pool_state_json import state_from_json, state_to_json
from pricefeed.chain.rpc import Block
from pricefeed.chain.state import ChainState, Restored
from pricefeed.errors import StoreUnavailable
from pricefeed.store.database import Database, insert
from pricefeed.store.schema import chain_heads, pool_states


class PoolStateStore(Database):
    async def save_pool_states(self, state: ChainState) -> None:
        """The pools changed since the last save, and the block they are all valid at, in one
        transaction: what is stored is always one block's state. On failure the changes stay
        to be saved next time."""
        if state.head is None:
            return
        held = state.states
        changed, held.changed = held.changed, set()
        evicted, held.evicted = held.evicted, set()
        # read with the change sets, before any await: the follower moves the head meanwhile
        head, rows = _head_row(state), _pool_rows(state, changed)
        try:
            async with self._write() as conn:
                stmt = insert(conn, chain_heads).values(head)
                await conn.execute(stmt.on_conflict_do_update(index_elements=["chain"], set_=head))
                await _forget_pools(conn, state.name, evicted)
                await _save_pools(conn, rows)
        except StoreUnavailable:
            held.changed |= changed
            held.evicted |= evicted
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


def _head_row(state: ChainState) -> dict:
    return {
        "chain": state.name,
        "block_number": state.head.number,  # type: ignore[union-attr]
        "block_hash": state.head.hash,  # type: ignore[union-attr]
        "confirmed_at": state.confirmed_at,
    }


async def _forget_pools(conn: AsyncConnection, chain: str, evicted: set[str]) -> None:
    if evicted:
        await conn.execute(
            pool_states.delete().where(
                pool_states.c.chain == chain, pool_states.c.address.in_(list(evicted))
            )
        )


def _pool_rows(state: ChainState, changed: set[str]) -> list[dict]:
    held = state.states
    return [
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


async def _save_pools(conn: AsyncConnection, rows: list[dict]) -> None:
    if rows:
        stmt = insert(conn, pool_states)
        upsert = stmt.on_conflict_do_update(
            index_elements=["chain", "address"], set_={"state": stmt.excluded.state}
        )
        await conn.execute(upsert, rows)
