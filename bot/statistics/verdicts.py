"""What a statistician signs beside the plain leaderboard (issue #16): style-controlled ratings, the
length-controlled win rate and the anytime-valid decision per matchup, and the voters whose votes are not votes.
All of it from one ``VoteTable``; the leaderboard's outputs (CLI, report, chat) show it in their own block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.statistics.bradley_terry import Standing
from bot.statistics.length_control import LengthControlledWinRate
from bot.statistics.outliers import OutlierReport
from bot.statistics.sequential import Decision
from bot.statistics.style_control import StyleLeaderboard, describe_coefficients, style_leaderboard
from bot.statistics.vote_table import VoteTable

OUTLIER_STEP = "outlier voters"


@dataclass(frozen=True)
class MatchupVerdict:
    """One matchup: raw and length-controlled win rate of the fine-tune, and whether voting may stop."""

    matchup: str
    length: LengthControlledWinRate
    decision: Decision


@dataclass(frozen=True)
class Verdicts:
    """``style`` is None unless asked for; ``outliers`` are the flagged voters among the votes tested (before any
    were dropped); ``dropped`` says whether their votes were left out of everything else here."""

    style: StyleLeaderboard | None
    matchups: Mapping[str, MatchupVerdict]
    outliers: OutlierReport
    dropped: bool


def outlier_report(table: VoteTable) -> OutlierReport:
    return table.outliers()


def verdicts(table: VoteTable, outliers: OutlierReport, *, style: bool, dropped: bool,
             rounds: int | None = None, seed: int = 0) -> Verdicts:
    """The verdicts of ``table`` (already without the outliers when ``dropped``); style control with
    sandwich intervals, or bootstrap ones over ``rounds`` resamples."""
    length = table.length_controlled()
    decisions = table.decisions()
    board = style_leaderboard(table.style_battles(), rounds=rounds, seed=seed) if style and len(table) else None
    return Verdicts(
        style=board,
        matchups={name: MatchupVerdict(name, length[name], decisions[name]) for name in length},
        outliers=outliers, dropped=dropped,
    )


def style_columns(style: StyleLeaderboard | None) -> dict[str, Standing]:
    """The style-controlled standing of each model, by name."""
    return {s.model: s for s in style.standings} if style else {}


def verdicts_json(v: Verdicts, standings: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdicts as JSON: ``style_*`` keys added to each row of ``standings`` (in place), and the top-level keys
    ``style_coefficients``, ``style_intervals``, ``matchups`` and ``outliers`` to merge into the report."""
    out: dict[str, Any] = {}
    if v.style is not None:
        by_model = style_columns(v.style)
        for row in standings:
            found = by_model.get(row["model"])
            row.update(style_rating=found.rating if found else None, style_ci_low=found.ci_low if found else None,
                       style_ci_high=found.ci_high if found else None, style_rank=found.rank if found else None)
        out["style_coefficients"] = dict(v.style.coefficients)
        out["style_intervals"] = v.style.method
    out["matchups"] = {name: {
        "votes": m.length.votes, "win_rate": m.length.win_rate, "lc_win_rate": m.length.lc_win_rate,
        "decision": m.decision.state, "decision_text": m.decision.describe(), "low": m.decision.low,
        "high": m.decision.high, "more_votes": m.decision.more_votes,
    } for name, m in v.matchups.items()}
    out["outliers"] = {"voters_tested": v.outliers.voters, "flagged": len(v.outliers.outliers),
                       "votes": v.outliers.removed_votes, "dropped": v.dropped}
    return out


def verdict_lines(v: Verdicts) -> list[str]:
    """The verdicts in words, one line each, for text outputs (CLI, report, chat)."""
    lines = []
    if v.style is not None:
        lines.append("Style coefficients: " + "; ".join(describe_coefficients(v.style.coefficients)))
    for name, m in v.matchups.items():
        lines.append(f"{name}: win rate {m.length.win_rate:.0%}, length-controlled {m.length.lc_win_rate:.0%}; "
                     f"{m.decision.describe()}")
    flagged = len(v.outliers.outliers)
    if flagged:
        action = "dropped" if v.dropped else "kept (--drop-outliers leaves them out)"
        lines.append(f"Outlier voters: {flagged} of {v.outliers.voters} ({v.outliers.removed_votes:,} votes), "
                     f"{action}")
    else:
        lines.append(f"Outlier voters: none of {v.outliers.voters}")
    return lines
