"""A covering index for the counts every click returns (votes of a comparison by choice): read from the
index alone, instead of one table row per vote, so a busy comparison's clicks do not slow down as its
votes pile up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_votes_comparison_choice", "votes", ["comparison_id", "choice"])


def downgrade() -> None:
    op.drop_index("ix_votes_comparison_choice", "votes")
