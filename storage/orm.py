"""Tables: comparisons, their two replies, votes (one per voter per comparison, with its reason), and each
comparison's CSV columns as the export writes them; LLM judges' verdicts; the settings admins set per server and
channel, the shared rate limit's windows, and per-installation values; and their Core handles, for the hot paths
that skip the ORM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LEN = 32
NAME_LEN = 200


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class StyleTotals:
    """Both replies' style totals (STYLE_TOTALS: tokens, headers, list items, bold spans of A, then of B), as the
    comparison holds them and each vote copies them."""

    a_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    a_headers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    a_lists: Mapped[int | None] = mapped_column(Integer, nullable=True)
    a_bold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    b_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    b_headers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    b_lists: Mapped[int | None] = mapped_column(Integer, nullable=True)
    b_bold: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ComparisonRow(StyleTotals, Base):
    __tablename__ = "comparisons"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    prompt: Mapped[str] = mapped_column(Text)
    matchup: Mapped[str] = mapped_column(String(NAME_LEN))
    model_a: Mapped[str] = mapped_column(String(NAME_LEN))
    model_b: Mapped[str] = mapped_column(String(NAME_LEN))
    base_side: Mapped[str] = mapped_column(String(1))
    blind: Mapped[bool] = mapped_column(Boolean)
    requester: Mapped[str] = mapped_column(String(NAME_LEN))
    platform: Mapped[str] = mapped_column(String(32))
    server: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    channel: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    identity_leak: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reply_problem: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A turn of a conversation (bot.domain.Comparison): the first comparison's id (NULL on a first turn), the
    # turn number, the earlier turns as JSON (storage/comparisons.py; NULL when none), and what it re-ran.
    conversation_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    turn: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    history: Mapped[str | None] = mapped_column(Text, nullable=True)
    regenerated_from: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)

    # Both replies' style totals (StyleTotals), written with the replies, so that each vote copies them with its
    # slice columns (NULL before the replies are in).

    __table_args__ = (Index("ix_comparisons_matchup", "matchup"), Index("ix_comparisons_status", "status"))


class ReplyRow(Base):
    __tablename__ = "replies"

    comparison_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True)
    side: Mapped[str] = mapped_column(String(1), primary_key=True)
    model: Mapped[str] = mapped_column(String(NAME_LEN))
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cut: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    dropped_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Style features (bot.statistics.style), counted when the reply is saved; NULL only on a reply saved by a
    # process older than migration 0011 after that migration ran (exports count from the text regardless).
    style_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h1: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h2: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h3: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h4: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h5: Mapped[int | None] = mapped_column(Integer, nullable=True)
    header_h6: Mapped[int | None] = mapped_column(Integer, nullable=True)
    list_ordered: Mapped[int | None] = mapped_column(Integer, nullable=True)
    list_unordered: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bold_asterisks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bold_underscores: Mapped[int | None] = mapped_column(Integer, nullable=True)


class VoteRow(StyleTotals, Base):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comparison_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("comparisons.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(NAME_LEN))
    choice: Mapped[str] = mapped_column(String(16))
    previous_choice: Mapped[str | None] = mapped_column(String(16), nullable=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The CSV export's ``tstamp`` of updated_at (bot.export.tstamp_text); NULL on votes cast before 0006.
    tstamp: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # Copied from the comparison when the vote is cast (it never changes once votes are allowed), so
    # leaderboards slice and filter one table without a join.
    matchup: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    model_a: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    model_b: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    platform: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    server: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    channel: Mapped[str] = mapped_column(String(NAME_LEN), server_default="")
    identity_leak: Mapped[bool] = mapped_column(Boolean, server_default=false())
    reply_problem: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The member's reason for this vote (the *Why?* button, /why): the latest they gave; "" for none.
    feedback: Mapped[str] = mapped_column(Text, server_default="")
    # Copied the same way for style control, the LC win rate and the decision (storage/vote_table.py): which side
    # the base model was on and both replies' style totals, so that reading them scans this one table.
    base_side: Mapped[str] = mapped_column(String(1), server_default="")

    __table_args__ = (UniqueConstraint("comparison_id", "voter", name="uq_votes_comparison_voter"),
                      Index("ix_votes_updated_at", "updated_at"), Index("ix_votes_voter", "voter"),
                      Index("ix_votes_board", "model_a", "model_b", "choice", "identity_leak", "reply_problem"),
                      Index("ix_votes_voter_flags", "voter", "identity_leak", "reply_problem"),
                      Index("ix_votes_comparison_choice", "comparison_id", "choice"))


class ComparisonCsvRow(Base):
    """A finished comparison's CSV columns (``bot.export.csv_parts``), rendered when it is saved. A row of
    another ``version`` (the format changed since) is ignored by the export and rendered afresh."""

    __tablename__ = "comparison_csv"

    comparison_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(Text)
    middle: Mapped[str] = mapped_column(Text)
    slices: Mapped[str] = mapped_column(Text)
    tail: Mapped[str] = mapped_column(Text)


class ChannelSettingRow(Base):
    """One setting an admin set from the chat (bot/channels.py) for a whole server (``channel`` empty) or one
    channel."""

    __tablename__ = "channel_settings"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    server: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    channel: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(NAME_LEN))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RateSlotRow(Base):
    """A member's comparisons in the current rate-limit window, shared by every process: their times as Unix
    seconds, oldest first, separated by spaces (a handful per member: one row read and written per compare),
    and the newest of them, by which the sweep drops members whose window has emptied."""

    __tablename__ = "rate_slots"

    member: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    hits: Mapped[str] = mapped_column(Text)
    latest: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_rate_slots_latest", "latest"),)


class InstallationRow(Base):
    """Values chosen once per installation (the export's secret salt), by key."""

    __tablename__ = "installation"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
class JudgementRow(Base):
    """An LLM judge's verdict on a comparison (bot.judgement.Judgement), one per judge model and comparison: never a
    vote, and read by nothing that counts votes."""

    __tablename__ = "judgements"

    comparison_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True)
    judge: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pick_first: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pick_second: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text_first: Mapped[str] = mapped_column(Text)
    text_second: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DecisionAnnouncementRow(Base):
    """A channel told that a matchup's vote is decided (bot.statistics.sequential): one row per matchup and
    channel, so every process and restart tells each channel once."""

    __tablename__ = "decision_announcements"

    matchup: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    server: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    channel: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    announced_at: Mapped[datetime] = mapped_column(UtcDateTime())


# Core tables of the mapped classes: statements built on them skip the ORM's per-row work.
COMPARISONS = cast(Table, ComparisonRow.__table__)
REPLIES = cast(Table, ReplyRow.__table__)
VOTES = cast(Table, VoteRow.__table__)
CSV_PARTS = cast(Table, ComparisonCsvRow.__table__)
CHANNEL_SETTINGS = cast(Table, ChannelSettingRow.__table__)
RATE_SLOTS = cast(Table, RateSlotRow.__table__)
INSTALLATION = cast(Table, InstallationRow.__table__)
JUDGEMENTS = cast(Table, JudgementRow.__table__)
ANNOUNCEMENTS = cast(Table, DecisionAnnouncementRow.__table__)
