"""Tables. Changes to them go through a new Alembic revision in migrations/versions."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

pairs = Table(
    "pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chain", String, nullable=False),
    Column("token_in", String, nullable=False),
    Column("token_out", String, nullable=False),
    Column("symbol_in", String, nullable=False),
    Column("symbol_out", String, nullable=False),
    Column("tier", Integer, nullable=False, server_default="4"),
    Column("pinned_tier", Integer),
    Column("score", Float, nullable=False, server_default="0"),  # decayed request count...
    Column("score_at", Float, nullable=False, server_default="0"),  # ...as of this time
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("stale", Integer, nullable=False, server_default="0"),
    Column("misses", Integer, nullable=False, server_default="0"),
    Column("last_requested_at", Float),
    UniqueConstraint("chain", "token_in", "token_out"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False),
    Column("amount_in", String, nullable=False),  # raw units as a decimal string: > 64 bits
    Column("body", Text, nullable=False),  # the quote's wire form (model.QuoteBody) as JSON
    Column("block_number", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
    Column("requested_at", Float),
    Column("queued_until", Float),  # a refresh job holds this quote until then
    UniqueConstraint("pair_id", "amount_in"),
)

tier_settings = Table(
    "tier_settings",
    metadata,
    Column("tier", Integer, primary_key=True),
    Column("refresh", Float),  # seconds between refreshes; NULL: on demand only
    Column("ttl", Float, nullable=False),
    Column("stale_limit", Float, nullable=False),
    Column("size", Integer),  # pairs in the tier; NULL: no limit
)

metric_samples = Table(
    "metric_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("name", String, nullable=False),
    Column("labels", String, nullable=False, server_default=""),
    Column("value", Float, nullable=False),
    Index("ix_metric_samples_name_at", "name", "at"),
)

price_history = Table(
    "price_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", Integer, ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False),
    Column("amount_in", String, nullable=False),
    Column("price", String, nullable=False),  # exact decimal string, as served
    Column("block_number", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
    Index("ix_price_history_pair_at", "pair_id", "fetched_at"),
)

server_state = Table(
    "server_state",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", String, nullable=False),
)

chain_heads = Table(  # the block each chain's pool_states are valid at
    "chain_heads",
    metadata,
    Column("chain", String, primary_key=True),
    Column("block_number", Integer, nullable=False),
    Column("block_hash", String, nullable=False),
    Column("confirmed_at", Float, nullable=False),  # when that block was last seen as the head
)

pool_states = Table(
    "pool_states",
    metadata,
    Column("chain", String, primary_key=True),
    Column("address", String, primary_key=True),
    Column("venue", String, nullable=False),
    Column("token0", String, nullable=False),
    Column("token1", String, nullable=False),
    Column("fee", Integer),
    # JSON (see pricefeed.chain.pool_state_json); NULL where it could not be read
    Column("state", Text),
)
