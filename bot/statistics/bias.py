"""Bias checks on a slice of the votes: position bias (side A winning more than half), tie shares and
how concentrated the voting is among a few voters."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bot.outcomes import MODEL_A, MODEL_B, TIE, TIE_BOTHBAD
from bot.statistics.battles import BattleCount


@dataclass(frozen=True)
class BiasReport:
    a_side_win_rate: float | None
    decided: int
    tie_share: float | None
    both_bad_share: float | None
    voters: int
    median_votes_per_voter: float | None
    max_votes_per_voter: int


def bias_report(counts: Sequence[BattleCount], votes_per_voter: Sequence[int]) -> BiasReport:
    """Position bias (how often side A wins a decided vote), tie shares and how concentrated voting is."""
    a = sum(c.count for c in counts if c.outcome == MODEL_A)
    b = sum(c.count for c in counts if c.outcome == MODEL_B)
    tie = sum(c.count for c in counts if c.outcome == TIE)
    bad = sum(c.count for c in counts if c.outcome == TIE_BOTHBAD)
    total = a + b + tie + bad
    return BiasReport(
        a_side_win_rate=a / (a + b) if a + b else None, decided=a + b,
        tie_share=tie / total if total else None, both_bad_share=bad / total if total else None,
        voters=len(votes_per_voter),
        median_votes_per_voter=float(statistics.median(votes_per_voter)) if votes_per_voter else None,
        max_votes_per_voter=max(votes_per_voter, default=0),
    )
