"""LLM judges' verdicts on comparisons, in a table of their own (never counted as votes): one row per judge model and
comparison, with both orders' picks and raw texts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.orm import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgements",
        sa.Column("comparison_id", sa.String(32), sa.ForeignKey("comparisons.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("judge", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("pick_first", sa.String(16), nullable=True),
        sa.Column("pick_second", sa.String(16), nullable=True),
        sa.Column("text_first", sa.Text(), nullable=False),
        sa.Column("text_second", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("judgements")
