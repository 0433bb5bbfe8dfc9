"""Initial schema: comparisons, replies, votes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.orm import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("matchup", sa.String(200), nullable=False),
        sa.Column("model_a", sa.String(200), nullable=False),
        sa.Column("model_b", sa.String(200), nullable=False),
        sa.Column("base_side", sa.String(1), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("server", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_comparisons_matchup", "comparisons", ["matchup"])
    op.create_index("ix_comparisons_status", "comparisons", ["status"])
    op.create_table(
        "replies",
        sa.Column("comparison_id", sa.String(32), sa.ForeignKey("comparisons.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("side", sa.String(1), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("comparison_id", sa.String(32), sa.ForeignKey("comparisons.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("voter", sa.String(200), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("previous_choice", sa.String(16), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("comparison_id", "voter", name="uq_votes_comparison_voter"),
    )


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_table("replies")
    op.drop_index("ix_comparisons_status", "comparisons")
    op.drop_index("ix_comparisons_matchup", "comparisons")
    op.drop_table("comparisons")
