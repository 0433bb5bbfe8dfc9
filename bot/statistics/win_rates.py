"""Win rates: the fine-tuned model's share of decided votes per matchup, with its 95% Wilson interval."""

from __future__ import annotations

import math

from bot.domain import Matchup, Tally
from bot.outcomes import BASE, BOTH_BAD, FINETUNED, MODEL_A, MODEL_B, TIE, TIE_BOTHBAD
from bot.ports import OutcomeCount
from bot.statistics.battles import BattleCount

Z_95 = 1.959963984540054


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no data."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def tallies(rows: list[OutcomeCount]) -> list[Tally]:
    """One Tally per matchup: the fine-tuned model's win rate over decided votes (ties and
    both-bad are reported but not counted as decided), with its 95% Wilson interval."""
    grouped: dict[tuple[str, str, str], dict[str, int]] = {}
    for row in rows:
        key = (row.matchup, row.base_model, row.finetuned_model)
        outcomes = grouped.setdefault(key, {})
        outcomes[row.outcome] = outcomes.get(row.outcome, 0) + row.count
    result = []
    for (matchup, base, finetuned), outcomes in sorted(grouped.items()):
        wins, losses = outcomes.get(FINETUNED, 0), outcomes.get(BASE, 0)
        decided = wins + losses
        low, high = wilson_interval(wins, decided) if decided else (None, None)
        result.append(Tally(
            matchup=matchup, base=base, finetuned=finetuned, wins=wins, losses=losses,
            ties=outcomes.get(TIE, 0), both_bad=outcomes.get(BOTH_BAD, 0),
            win_rate=wins / decided if decided else None, ci_low=low, ci_high=high,
        ))
    return result


def outcome_counts_of(matchup: Matchup, counts: tuple[BattleCount, ...]) -> list[OutcomeCount]:
    """One matchup's battle counts (a slice's, already limited to that matchup) seen from its fine-tuned model,
    for ``tallies``: what the leaderboard of a member, a channel or a server is made of."""
    base, finetuned = matchup.base.name, matchup.finetuned.name
    found: dict[str, int] = {}
    for c in counts:
        if {c.model_a, c.model_b} != {base, finetuned}:
            continue  # the matchup's models were swapped in the config since: count only the current pair
        winner = {MODEL_A: c.model_a, MODEL_B: c.model_b}.get(c.outcome)
        result = {TIE: TIE, TIE_BOTHBAD: BOTH_BAD}.get(c.outcome) or (FINETUNED if winner == finetuned else BASE)
        found[result] = found.get(result, 0) + c.count
    return [OutcomeCount(matchup.name, base, finetuned, result, n) for result, n in found.items()]
