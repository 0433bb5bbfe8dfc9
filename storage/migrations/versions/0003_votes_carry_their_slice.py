"""Votes carry what leaderboards slice and filter by (matchup, models, place, quality flags), copied
from their comparison when cast, so a leaderboard over a million votes is one pass over one table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TEXT_COLUMNS = ("matchup", "model_a", "model_b", "platform", "server", "channel")
FLAG_COLUMNS = ("identity_leak", "reply_problem")


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        for name in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(200), nullable=False, server_default=""))
        for name in FLAG_COLUMNS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
    copied = ", ".join(f"{name} = (SELECT c.{name} FROM comparisons c WHERE c.id = votes.comparison_id)"
                       for name in (*TEXT_COLUMNS, *FLAG_COLUMNS))
    op.execute(f"UPDATE votes SET {copied}")
    # Covering indexes: the leaderboard's grouped counts and votes per voter are read from them alone.
    op.create_index("ix_votes_board", "votes", ["model_a", "model_b", "choice", "identity_leak", "reply_problem"])
    op.create_index("ix_votes_voter_flags", "votes", ["voter", "identity_leak", "reply_problem"])


def downgrade() -> None:
    op.drop_index("ix_votes_voter_flags", "votes")
    op.drop_index("ix_votes_board", "votes")
    with op.batch_alter_table("votes") as batch:
        for name in (*TEXT_COLUMNS, *FLAG_COLUMNS):
            batch.drop_column(name)
