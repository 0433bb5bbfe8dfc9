"""Issue #16. Each reply keeps its style features (bot.statistics.style: tokens, headers h1..h6, ordered and
unordered list items, bold ``**`` and ``__``), counted when it is saved, for style control and the exports'
``conv_metadata``.
Replies saved before are counted here from their stored text, a batch at a time (storage/reply_style.py). Their
totals are copied onto comparisons and, with the base model's side, onto votes, which the leaderboard reads.
And ``decision_announcements``: the channels already told that a matchup's vote is decided, one row each.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.reply_style import STYLE_COLUMNS, STYLE_TOTALS, backfill, backfill_totals

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in STYLE_COLUMNS:
        op.add_column("replies", sa.Column(name, sa.Integer(), nullable=True))
    for table in ("comparisons", "votes"):
        for name in STYLE_TOTALS:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("votes", sa.Column("base_side", sa.String(1), nullable=False, server_default=""))
    backfill(op.get_bind())
    backfill_totals(op.get_bind())
    op.create_table(
        "decision_announcements",
        sa.Column("matchup", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("server", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_announcements")
    with op.batch_alter_table("replies") as batch:
        for name in STYLE_COLUMNS:
            batch.drop_column(name)
    for table, extra in (("comparisons", ()), ("votes", ("base_side",))):
        with op.batch_alter_table(table) as batch:
            for name in (*STYLE_TOTALS, *extra):
                batch.drop_column(name)
