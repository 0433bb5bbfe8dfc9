"""An LLM judge's verdict on one comparison, as stored: plain data, kept apart from the members' votes (a
judgement is never a vote and never counts as one)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.domain import Choice, Counts, Side


class JudgeStatus(enum.StrEnum):
    """How a judging ended. Only ``VERDICT`` names a winner; the others are recorded so that a judge's failures
    and position bias are counted, not hidden."""

    VERDICT = "verdict"  # both orders named the same winner (or both a tie)
    INCONSISTENT = "inconsistent"  # the pick followed the position: swapping the answers changed the winner
    UNPARSABLE = "unparsable"  # a reply did not end with [[A]], [[B]] or [[C]]
    FAILED = "failed"  # the judge model could not answer (down, refused, timed out)


@dataclass(frozen=True)
class Judgement:
    """One judge model's verdict on one comparison. ``first`` is the pick with the answers in their stored order
    (side A shown first), ``second`` the pick with them swapped, both in the comparison's own sides (A, B or TIE);
    ``verdict`` is their common pick when ``status`` is VERDICT. The raw texts are kept for audit."""

    comparison_id: str
    judge: str  # the configured model's name
    status: JudgeStatus
    verdict: Choice | None
    first: Choice | None
    second: Choice | None
    text_first: str
    text_second: str
    error: str | None
    latency_ms: int
    created_at: datetime


@dataclass(frozen=True)
class JudgedComparison:
    """A judgement with what agreement and ratings need from its comparison: the matchup, the sides and the
    members' vote counts on it. Read back without its raw texts (empty here): they stay in the table for audit,
    and a leaderboard over thousands of judgements need not carry them."""

    judgement: Judgement
    matchup: str
    model_a: str
    model_b: str
    base_side: Side
    votes: Counts
