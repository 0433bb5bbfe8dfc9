"""Channel control: the settings admins set from the chat per server and per channel, and the rate limit's
windows held in the database so that every process shares one limit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("server", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rate_slots",
        sa.Column("member", sa.String(200), primary_key=True),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("latest", sa.Float(), nullable=False),
    )
    op.create_index("ix_rate_slots_latest", "rate_slots", ["latest"])


def downgrade() -> None:
    op.drop_index("ix_rate_slots_latest", table_name="rate_slots")
    op.drop_table("rate_slots")
    op.drop_table("channel_settings")
