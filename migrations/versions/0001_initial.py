"""pairs, quotes, tier settings, metric samples

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain", sa.String, nullable=False),
        sa.Column("token_in", sa.String, nullable=False),
        sa.Column("token_out", sa.String, nullable=False),
        sa.Column("symbol_in", sa.String, nullable=False),
        sa.Column("symbol_out", sa.String, nullable=False),
        sa.Column("tier", sa.Integer, nullable=False, server_default="4"),
        sa.Column("pinned_tier", sa.Integer),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("score_at", sa.Float, nullable=False, server_default="0"),
        sa.Column("hits", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stale", sa.Integer, nullable=False, server_default="0"),
        sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_requested_at", sa.Float),
        sa.UniqueConstraint("chain", "token_in", "token_out"),
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "pair_id", sa.Integer, sa.ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("amount_in", sa.String, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("fetched_at", sa.Float, nullable=False),
        sa.Column("requested_at", sa.Float),
        sa.Column("queued_until", sa.Float),
        sa.UniqueConstraint("pair_id", "amount_in"),
    )
    op.create_table(
        "tier_settings",
        sa.Column("tier", sa.Integer, primary_key=True),
        sa.Column("refresh", sa.Float),
        sa.Column("ttl", sa.Float, nullable=False),
        sa.Column("stale_limit", sa.Float, nullable=False),
        sa.Column("size", sa.Integer),
    )
    op.create_table(
        "metric_samples",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("labels", sa.String, nullable=False, server_default=""),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_metric_samples_name_at", "metric_samples", ["name", "at"])


def downgrade() -> None:
    op.drop_table("metric_samples")
    op.drop_table("tier_settings")
    op.drop_table("quotes")
    op.drop_table("pairs")
