"""Each finished comparison's CSV columns, rendered once when it is saved, so the CSV export of a million
votes stitches stored text instead of rendering every comparison again (see storage/csv_export.py).
Comparisons saved before this revision have no row; the export renders those as it goes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comparison_csv",
        sa.Column("comparison_id", sa.String(32), sa.ForeignKey("comparisons.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head", sa.Text(), nullable=False),
        sa.Column("middle", sa.Text(), nullable=False),
        sa.Column("slices", sa.Text(), nullable=False),
        sa.Column("tail", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("comparison_csv")
