"""pool state: each chain's held pools and their state, and the block it is valid at

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_heads",
        sa.Column("chain", sa.String, primary_key=True),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("block_hash", sa.String, nullable=False),
        sa.Column("confirmed_at", sa.Float, nullable=False),
    )
    op.create_table(
        "pool_states",
        sa.Column("chain", sa.String, primary_key=True),
        sa.Column("address", sa.String, primary_key=True),
        sa.Column("venue", sa.String, nullable=False),
        sa.Column("token0", sa.String, nullable=False),
        sa.Column("token1", sa.String, nullable=False),
        sa.Column("fee", sa.Integer),
        sa.Column("state", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("pool_states")
    op.drop_table("chain_heads")
