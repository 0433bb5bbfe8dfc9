"""Conversations: a comparison may be a later turn of a conversation (its first comparison's id, its turn number
and the earlier turns it carries, as JSON) or a regeneration of another; a reply records how many earlier turns
were left out to fit the model's context. Comparisons from before are first turns, with nothing left out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("comparisons", sa.Column("conversation_id", sa.String(32), nullable=True))
    op.add_column("comparisons", sa.Column("turn", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("comparisons", sa.Column("history", sa.Text(), nullable=True))
    op.add_column("comparisons", sa.Column("regenerated_from", sa.String(32), nullable=True))
    op.add_column("replies", sa.Column("dropped_turns", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("dropped_turns")
    with op.batch_alter_table("comparisons") as batch:
        for column in ("regenerated_from", "history", "turn", "conversation_id"):
            batch.drop_column(column)
