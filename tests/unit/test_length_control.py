from __future__ import annotations

import numpy as np
import pytest

from bot.outcomes import BASE, BOTH_BAD, FINETUNED, TIE
from bot.statistics.length_control import MatchupBattle, by_matchup, length_controlled_win_rate


def test_with_equal_lengths_it_is_the_raw_win_rate() -> None:
    rate = length_controlled_win_rate([1, 1, 0, 0.5, 1], [80] * 5, [80] * 5)
    assert rate.win_rate == pytest.approx(0.7)
    assert rate.lc_win_rate == pytest.approx(0.7, abs=1e-4)
    assert rate.length_coefficient == 0.0


def test_a_fine_tune_that_wins_only_by_length_is_even_at_equal_length() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    base = rng.poisson(200, n)
    finetuned = base + rng.normal(80, 120, n).astype(int)  # usually, not always, longer
    longer = np.tanh((finetuned - base) / np.std(finetuned - base))
    scores = (rng.random(n) < 1 / (1 + np.exp(-1.5 * longer))).astype(float)
    rate = length_controlled_win_rate(scores, finetuned, base)
    assert rate.win_rate > 0.6
    assert rate.lc_win_rate == pytest.approx(0.5, abs=0.04)
    assert rate.length_coefficient == pytest.approx(1.5, abs=0.2)


def test_a_better_fine_tune_stays_better_at_equal_length() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    base = rng.poisson(200, n)
    finetuned = base + rng.normal(0, 100, n).astype(int)
    scores = (rng.random(n) < 0.7).astype(float)
    rate = length_controlled_win_rate(scores, finetuned, base)
    assert rate.lc_win_rate == pytest.approx(rate.win_rate, abs=0.02)


def test_an_unbeaten_fine_tune_gets_a_rate_just_below_one() -> None:
    rate = length_controlled_win_rate([1.0] * 12, [100, 90, 300, 50, 80, 70, 60, 200, 10, 30, 40, 20], [80] * 12)
    assert 0.99 < rate.lc_win_rate < 1.0


def test_by_matchup_scores_votes_from_the_fine_tunes_side() -> None:
    battles = [
        MatchupBattle("chat", FINETUNED, 120, 100), MatchupBattle("chat", BASE, 90, 100),
        MatchupBattle("chat", TIE, 100, 100), MatchupBattle("chat", BOTH_BAD, 100, 100),
        MatchupBattle("code", FINETUNED, 50, 50),
    ]
    rates = by_matchup(battles)
    assert list(rates) == ["chat", "code"]
    assert rates["chat"].votes == 4
    assert rates["chat"].win_rate == pytest.approx(0.5)
    assert rates["code"].win_rate == 1.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no battles"):
        length_controlled_win_rate([], [], [])
    with pytest.raises(ValueError, match="one value per battle"):
        length_controlled_win_rate([1, 0], [1], [1, 2])
    with pytest.raises(ValueError, match="scores"):
        length_controlled_win_rate([0.3], [1], [1])
    with pytest.raises(ValueError, match="unknown outcome"):
        by_matchup([MatchupBattle("chat", "model_a", 1, 1)])
