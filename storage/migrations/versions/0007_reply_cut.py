"""Each reply records whether the length limit stopped it (``cut``): such replies are shown as cut and kept out
of preference exports by default. Replies from before are taken as whole (nothing recorded otherwise).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("replies", sa.Column("cut", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("cut")
