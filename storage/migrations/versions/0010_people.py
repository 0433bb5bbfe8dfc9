"""Votes carry the member's reason (``feedback``, from the *Why?* button or ``/why``); an ``installation`` table
keeps values chosen once per installation, such as the export's secret salt, generated at first start.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("votes", sa.Column("feedback", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "installation",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("installation")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("feedback")
