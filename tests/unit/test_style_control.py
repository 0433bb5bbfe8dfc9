from __future__ import annotations

import math

import numpy as np
import pytest

from bot.statistics import style_control
from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import bradley_terry
from bot.statistics.style import StyleFeatures
from bot.statistics.style_control import (
    FEATURES,
    StyleBattle,
    battles_from_arrays,
    describe_coefficients,
    fit_style,
    relative_differences,
    standardise,
    style_battles,
    style_leaderboard,
    without_style,
)
from tests.support.style_battles import draw


def _battles(n: int, **kwargs: object) -> style_control.StyleBattles:
    s = draw(n, **kwargs)  # type: ignore[arg-type]
    return battles_from_arrays(s.models, s.a, s.b, s.scores, s.style_a, s.style_b)


def test_relative_difference_is_a_minus_b_over_a_plus_b_plus_one() -> None:
    got = relative_differences([[300, 0, 4, 1]], [[100, 0, 0, 1]])
    assert got[0].tolist() == pytest.approx([200 / 401, 0.0, 4 / 5, 0.0])


def test_standardise_weights_by_counts_and_leaves_a_constant_feature_at_zero() -> None:
    differences = np.array([[0.5, 0.1], [-0.5, 0.1], [0.25, 0.1]], dtype=np.float32)
    counts = np.array([1.0, 1.0, 2.0])
    z = standardise(differences, counts)
    expanded = np.repeat(differences[:, 0].astype(np.float64), [1, 1, 2])
    assert z[0].tolist() == pytest.approx(((differences[:, 0] - expanded.mean()) / expanded.std()).tolist(), rel=1e-6)
    assert z[1].tolist() == [0.0, 0.0, 0.0]


def test_recovers_the_ratings_and_coefficients_it_was_drawn_from() -> None:
    s = draw(40_000, seed=1, tie_share=0.0)
    fitted = fit_style(battles_from_arrays(s.models, s.a, s.b, s.scores, s.style_a, s.style_b))
    truth = 400 * (s.theta - s.theta.mean()) + 1000
    for i, model in enumerate(s.models):
        low, high = fitted.intervals[model]
        assert low - 5 <= truth[i] <= high + 5
    assert [fitted.coefficients[name] for name in FEATURES] == pytest.approx(s.gamma.tolist(), abs=0.05)


def test_a_model_that_wins_by_writing_more_is_not_better_once_style_is_controlled() -> None:
    # "verbose" and "terse" are equally good: votes follow the length difference alone, and verbose writes
    # longer replies on average (with overlap, or length and model could not be told apart).
    rng = np.random.default_rng(7)
    n = 4000
    a = rng.integers(0, 2, n)
    mean_length = np.array([500.0, 250.0])
    style_a = np.zeros((n, 4), dtype=int)
    style_b = np.zeros((n, 4), dtype=int)
    style_a[:, 0] = rng.lognormal(np.log(mean_length[a]), 0.6)
    style_b[:, 0] = rng.lognormal(np.log(mean_length[1 - a]), 0.6)
    longer_a = 3 * relative_differences(style_a, style_b)[:, 0]
    scores = (rng.random(n) < 1 / (1 + np.exp(-longer_a))).astype(float)
    battles = battles_from_arrays(("verbose", "terse"), a, 1 - a, scores, style_a, style_b)
    raw = fit_style(battles, with_style=False).ratings
    controlled = fit_style(battles)
    assert raw["verbose"] - raw["terse"] > 100
    low, high = controlled.intervals["verbose"]
    assert abs(controlled.ratings["verbose"] - controlled.ratings["terse"]) < high - low
    assert controlled.coefficients["length"] > 0.5


def test_without_style_it_is_the_plain_leaderboard() -> None:
    counts = [
        BattleCount("a", "b", "model_a", 40), BattleCount("b", "a", "model_a", 25), BattleCount("a", "c", "tie", 7),
        BattleCount("c", "b", "model_b", 12), BattleCount("c", "a", "tie (bothbad)", 3),
    ]
    plain = bradley_terry(counts)
    fitted = fit_style(without_style(counts), with_style=False)
    assert fitted.ratings == pytest.approx(plain, abs=1e-4)
    assert fitted.coefficients == {}
    boot = style_control.bootstrap_intervals(without_style(counts), rounds=400, with_style=False)
    for model, (low, high) in fitted.intervals.items():
        assert high - low == pytest.approx(boot[model][1] - boot[model][0], rel=0.25)


def test_grouped_rows_fit_exactly_like_the_battles_they_stand_for() -> None:
    one, other = StyleFeatures(tokens=300, ordered=3), StyleFeatures(tokens=120, bold_asterisks=2)
    grouped = [
        StyleBattle("x", "y", "model_a", one, other, 30), StyleBattle("x", "y", "model_b", other, one, 20),
        StyleBattle("y", "z", "tie", one, one, 10), StyleBattle("z", "x", "model_a", other, other, 15),
        StyleBattle("y", "x", "model_b", one, other, 5),
    ]
    expanded = [StyleBattle(r.model_a, r.model_b, r.outcome, r.style_a, r.style_b) for r in grouped
                for _ in range(r.count)]
    by_group, by_battle = fit_style(style_battles(grouped)), fit_style(style_battles(expanded))
    assert by_group.ratings == pytest.approx(by_battle.ratings, abs=1e-6)
    assert by_group.coefficients == pytest.approx(by_battle.coefficients, abs=1e-9)
    for model, interval in by_group.intervals.items():
        assert interval == pytest.approx(by_battle.intervals[model], abs=1e-6)


def test_swapping_sides_changes_nothing() -> None:
    s = draw(3000, seed=2)
    forward = fit_style(battles_from_arrays(s.models, s.a, s.b, s.scores, s.style_a, s.style_b))
    mirrored = fit_style(battles_from_arrays(s.models, s.b, s.a, 1 - s.scores, s.style_b, s.style_a))
    assert forward.ratings == pytest.approx(mirrored.ratings, abs=1e-6)
    assert forward.coefficients == pytest.approx(mirrored.coefficients, abs=1e-9)


def test_each_connected_group_averages_1000_and_an_unbeaten_model_stays_finite() -> None:
    plain, long = StyleFeatures(tokens=50), StyleFeatures(tokens=400, unordered=5)
    rows = [
        StyleBattle("p", "q", "model_a", long, plain, 10), StyleBattle("q", "r", "model_a", plain, long, 6),
        StyleBattle("r", "q", "model_a", long, plain, 4),
        StyleBattle("s", "t", "model_b", long, plain, 8), StyleBattle("t", "s", "tie", plain, plain, 4),
    ]
    ratings = fit_style(style_battles(rows)).ratings
    assert all(math.isfinite(value) for value in ratings.values())
    assert ratings["p"] > ratings["q"] + 500
    assert (ratings["p"] + ratings["q"] + ratings["r"]) / 3 == pytest.approx(1000, abs=1e-6)
    assert (ratings["s"] + ratings["t"]) / 2 == pytest.approx(1000, abs=1e-6)


def test_anchor_shifts_ratings_and_measures_intervals_from_the_anchor() -> None:
    battles = _battles(3000, seed=3)
    free = fit_style(battles)
    anchored = fit_style(battles, anchor=("model-0", 1114.0))
    shift = 1114.0 - free.ratings["model-0"]
    assert anchored.ratings == pytest.approx({m: r + shift for m, r in free.ratings.items()})
    assert anchored.intervals["model-0"] == pytest.approx((1114.0, 1114.0))


def test_leaderboard_sorts_ranks_counts_votes_and_bootstraps_on_request() -> None:
    battles = _battles(2000, seed=4)
    board = style_leaderboard(battles)
    assert board.method == "sandwich"
    assert [s.rating for s in board.standings] == sorted((s.rating for s in board.standings), reverse=True)
    assert sum(s.votes for s in board.standings) == 2 * board.battles == 4000
    assert board.standings[0].rank == 1
    boot = style_leaderboard(battles, rounds=30, seed=1)
    assert boot.method == "bootstrap"
    for sandwich, resampled in zip(board.standings, boot.standings, strict=True):
        assert resampled.ci_low < resampled.rating < resampled.ci_high
        assert resampled.ci_high - resampled.ci_low == pytest.approx(sandwich.ci_high - sandwich.ci_low, rel=0.4)


def test_coefficients_in_words() -> None:
    assert describe_coefficients({"length": 0.25, "bold": -0.031}) == (
        "longer answers: +0.25 logit per SD", "more bold text: -0.03 logit per SD",
    )


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="every column"):
        battles_from_arrays(("a", "b"), [0], [1, 0], [1.0], [[1, 0, 0, 0]], [[2, 0, 0, 0]])
    with pytest.raises(ValueError, match="cannot battle itself"):
        battles_from_arrays(("a", "b"), [0], [0], [1.0], [[1, 0, 0, 0]], [[2, 0, 0, 0]])
    with pytest.raises(ValueError, match="scores"):
        battles_from_arrays(("a", "b"), [0], [1], [0.7], [[1, 0, 0, 0]], [[2, 0, 0, 0]])
    with pytest.raises(ValueError, match="unknown outcome"):
        style_battles([StyleBattle("a", "b", "a wins", StyleFeatures(), StyleFeatures())])
    with pytest.raises(ValueError, match="no battles"):
        fit_style(style_battles([]))
