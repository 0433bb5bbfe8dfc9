"""Ratings by source: Bradley-Terry from the members' votes, from the judge's verdicts, or from both with a judge's
verdict weighing half a member's vote.

Why half: a judge is one model asked the same way every time, so its verdicts are correlated where members' votes
are not, and it may share a bias with the fine-tune (MT-Bench measured GPT-4 agreeing with experts about as often
as experts agree with each other, on strong models; a small local judge agrees less). Counting it fully would let a
cheap, tireless judge outvote the people the arena is for; leaving it out wastes a signal. In a ``both`` fit each
human battle carries weight 2 and each judge battle weight 1; the bootstrap resamples the two kinds separately, so
the intervals reflect how many of each there really are."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from bot.domain import Choice
from bot.judgement import JudgedComparison, JudgeStatus
from bot.outcomes import MODEL_A, MODEL_B, TIE
from bot.statistics import bradley_terry
from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import CI_PERCENTILES, Leaderboard, Standing

SOURCES = ("human", "judge", "both")
HUMAN_WEIGHT = 2  # per judge verdict's 1: a judge's verdict counts half a member's vote
_WINNER = {Choice.A: MODEL_A, Choice.B: MODEL_B, Choice.TIE: TIE}


def judge_battles(judged: Iterable[JudgedComparison]) -> list[BattleCount]:
    """The judge's verdicts as battles (an inconsistent judgement is a tie; failed or unparsable ones are none)."""
    grouped: dict[tuple[str, str, str], int] = {}
    for item in judged:
        j = item.judgement
        if j.status is JudgeStatus.INCONSISTENT:
            winner = TIE
        elif j.status is JudgeStatus.VERDICT and j.verdict is not None:
            winner = _WINNER[j.verdict]
        else:
            continue
        key = (item.model_a, item.model_b, winner)
        grouped[key] = grouped.get(key, 0) + 1
    return [BattleCount(a, b, w, n) for (a, b, w), n in grouped.items()]


def source_leaderboard(human: Sequence[BattleCount], judge: Sequence[BattleCount], source: str,
                       rounds: int = 100, seed: int = 0) -> Leaderboard:
    """The leaderboard from ``source`` (one of SOURCES)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if source == "human" or not judge:
        return bradley_terry.leaderboard(human, rounds, seed)
    if source == "judge" or not human:
        return bradley_terry.leaderboard(judge, rounds, seed)
    ratings = bradley_terry.bradley_terry(_weighted(human, judge))
    intervals = _intervals(human, judge, rounds, seed)
    rank_of = bradley_terry.ranks(ratings, intervals)
    votes: dict[str, int] = {}
    for battle in (*human, *judge):
        for model in (battle.model_a, battle.model_b):
            votes[model] = votes.get(model, 0) + battle.count
    standings = tuple(
        Standing(model, rating, intervals[model][0], intervals[model][1], rank_of[model], votes[model])
        for model, rating in sorted(ratings.items(), key=lambda item: (-item[1], item[0])))
    return Leaderboard(standings=standings, battles=sum(b.count for b in (*human, *judge)))


def _weighted(human: Sequence[BattleCount], judge: Sequence[BattleCount]) -> list[BattleCount]:
    # The fit normalises its weights, so only the ratio of the two kinds matters.
    return ([BattleCount(b.model_a, b.model_b, b.outcome, b.count * HUMAN_WEIGHT) for b in human]
            + list(judge))


def _intervals(human: Sequence[BattleCount], judge: Sequence[BattleCount], rounds: int,
               seed: int) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the weighted fit: each round redraws the human battles and the judge's separately
    (multinomial over their grouped counts, as bradley_terry.bootstrap_intervals does for one kind)."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    rng = np.random.default_rng(seed)
    fits: list[dict[str, float]] = []
    for _ in range(rounds):
        fits.append(bradley_terry.bradley_terry(_weighted(_redraw(human, rng), _redraw(judge, rng))))
    models = sorted({m for fit in fits for m in fit})
    table = np.array([[fit.get(m, np.nan) for m in models] for fit in fits])
    low, high = np.nanpercentile(table, CI_PERCENTILES, axis=0)
    return {m: (float(low[i]), float(high[i])) for i, m in enumerate(models)}


def _redraw(counts: Sequence[BattleCount], rng: np.random.Generator) -> list[BattleCount]:
    total = sum(c.count for c in counts)
    drawn = rng.multinomial(total, [c.count / total for c in counts])
    return [BattleCount(c.model_a, c.model_b, c.outcome, int(n)) for c, n in zip(counts, drawn, strict=True)]
