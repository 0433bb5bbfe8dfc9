"""The model registry: contenders trained from the votes (or added by hand) with their lineage, and the
installation's one training slot (one run at a time, whichever process starts it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.orm import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contenders",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("parent", sa.String(200), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("adapter", sa.Text(), nullable=False),
        sa.Column("adapter_sha256", sa.String(64), nullable=False),
        sa.Column("base_model", sa.Text(), nullable=False),
        sa.Column("base_sha256", sa.String(64), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("votes_hash", sa.String(64), nullable=False),
        sa.Column("data_from", UtcDateTime(), nullable=True),
        sa.Column("data_until", UtcDateTime(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("curve", sa.Text(), nullable=False),
        sa.Column("wall_s", sa.Float(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "training_slot",
        sa.Column("slot", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("training_slot")
    op.drop_table("contenders")
