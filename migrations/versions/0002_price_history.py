"""price history per pair, for the dashboard's charts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "pair_id", sa.Integer, sa.ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("amount_in", sa.String, nullable=False),
        sa.Column("price", sa.String, nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("fetched_at", sa.Float, nullable=False),
    )
    op.create_index("ix_price_history_pair_at", "price_history", ["pair_id", "fetched_at"])


def downgrade() -> None:
    op.drop_table("price_history")
