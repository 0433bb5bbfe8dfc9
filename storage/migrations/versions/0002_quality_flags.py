"""Quality flags on comparisons (identity leak, a failed or empty reply) and a vote time index,
so leaderboards can filter and slice in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(sa.Column("identity_leak", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reply_problem", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_votes_updated_at", "votes", ["updated_at"])
    op.create_index("ix_votes_voter", "votes", ["voter"])


def downgrade() -> None:
    op.drop_index("ix_votes_voter", "votes")
    op.drop_index("ix_votes_updated_at", "votes")
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_column("reply_problem")
        batch.drop_column("identity_leak")
