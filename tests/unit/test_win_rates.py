from __future__ import annotations

import math

import pytest

from bot.ports import OutcomeCount
from bot.statistics.battles import BattleCount
from bot.statistics.win_rates import outcome_counts_of, tallies, wilson_interval
from tests.fakes import matchup


def test_wilson_matches_hand_computed_values() -> None:
    # p = 0.5, n = 10, z = 1.96: centre 0.5, half-width z*sqrt(.25/10 + z^2/400)/(1 + z^2/10)
    z = 1.959963984540054
    half = z * math.sqrt(0.25 / 10 + z * z / 400) / (1 + z * z / 10)
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.5 - half) and high == pytest.approx(0.5 + half)
    assert low == pytest.approx(0.2366, abs=1e-4)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.73


def test_tallies_group_by_matchup() -> None:
    rows = [OutcomeCount("m", "base", "tuned", "finetuned", 3), OutcomeCount("m", "base", "tuned", "base", 1),
            OutcomeCount("m", "base", "tuned", "tie", 2), OutcomeCount("m", "base", "tuned", "finetuned", 1),
            OutcomeCount("n", "b2", "t2", "both_bad", 4)]
    m, n = tallies(rows)
    assert (m.wins, m.losses, m.ties, m.both_bad, m.win_rate) == (4, 1, 2, 0, 0.8)
    assert n.win_rate is None and n.ci_low is None and n.both_bad == 4


def test_a_slices_battle_counts_become_outcomes_of_the_matchups_current_pair() -> None:
    pair = matchup("pair")  # base-m vs tuned-m
    counts = (BattleCount("tuned-m", "base-m", "model_a", 3), BattleCount("base-m", "tuned-m", "model_b", 2),
              BattleCount("base-m", "tuned-m", "model_a", 4), BattleCount("tuned-m", "base-m", "tie", 1),
              BattleCount("base-m", "tuned-m", "tie (bothbad)", 5), BattleCount("old-m", "tuned-m", "model_b", 9))
    found = {row.outcome: row.count for row in outcome_counts_of(pair, counts)}
    assert found == {"finetuned": 5, "base": 4, "tie": 1, "both_bad": 5}  # the old model's battles left out
