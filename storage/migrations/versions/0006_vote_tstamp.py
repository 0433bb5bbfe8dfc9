"""Each vote keeps the arena's ``tstamp`` of its last click as text (seconds since 1970, as Python prints
epoch milliseconds / 1000), written with the click, so the CSV export copies it instead of computing it
from ``updated_at`` for every line (about a fifth of SQLite's work per line). Votes from before stay NULL
and the export computes theirs as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("votes", sa.Column("tstamp", sa.String(24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("tstamp")
