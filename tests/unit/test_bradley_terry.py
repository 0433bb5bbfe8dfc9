from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit

from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import (
    bootstrap_intervals,
    bradley_terry,
    leaderboard,
    online_elo,
    ranks,
    win_rate_matrix,
)

MIXTRAL = "mixtral-8x7b-instruct-v0.1"
OUTCOMES = ("model_a", "model_b", "tie", "tie (bothbad)")
MIRROR = {"model_a": "model_b", "model_b": "model_a", "tie": "tie", "tie (bothbad)": "tie (bothbad)"}
Battles = list[tuple[str, str, str]]

_names = st.sampled_from("abcde")
_battle_counts = st.builds(BattleCount, _names, _names, st.sampled_from(OUTCOMES), st.integers(0, 30)).filter(
    lambda c: c.model_a != c.model_b
)


def _synthetic(seed: int, true: dict[str, float], n: int, tie_share: float = 0.0) -> list[BattleCount]:
    """``n`` battles between random pairs drawn from Bradley-Terry with the ``true`` ratings, grouped by outcome.
    A tie (either kind) replaces a decided battle with probability ``tie_share``."""
    rng = np.random.default_rng(seed)
    names = list(true)
    grouped: dict[tuple[str, str, str], int] = {}
    for _ in range(n):
        a, b = rng.choice(len(names), size=2, replace=False)
        p_a = 1 / (1 + 10 ** ((true[names[b]] - true[names[a]]) / 400))
        if rng.random() < tie_share:
            outcome = "tie" if rng.random() < 0.5 else "tie (bothbad)"
        else:
            outcome = "model_a" if rng.random() < p_a else "model_b"
        key = (names[a], names[b], outcome)
        grouped[key] = grouped.get(key, 0) + 1
    return [BattleCount(a, b, outcome, count) for (a, b, outcome), count in grouped.items()]


def _expand(counts: list[BattleCount]) -> Battles:
    return [(c.model_a, c.model_b, c.outcome) for c in counts for _ in range(c.count)]


def _fastchat_preprocess_for_bt(battles: Battles) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """FastChat ``preprocess_for_bt`` without pandas: the models in ``pd.factorize`` order over model_a then
    model_b, and the unique (a, b, outcome) rows as matchups, outcomes (1, 0.5, 0) and counts."""
    models = list(dict.fromkeys([a for a, _, _ in battles] + [b for _, b, _ in battles]))
    index = {name: i for i, name in enumerate(models)}
    code = {"model_a": 2, "model_b": 0}
    schedule = np.array([(index[a], index[b], code.get(w, 1)) for a, b, w in battles], dtype=np.int32)
    rows, counts = np.unique(schedule, return_counts=True, axis=0)
    return models, rows[:, :2], rows[:, 2] / 2.0, counts.astype(np.float64)


def _fastchat_fit_bt(matchups: np.ndarray, outcomes: np.ndarray, weights: np.ndarray, n_models: int,
                     alpha: float, tol: float) -> np.ndarray:
    """FastChat ``fit_bt``: the weighted log-loss summed, L-BFGS-B from zero, maxiter 100."""
    def loss_and_grad(ratings: np.ndarray) -> tuple[float, np.ndarray]:
        probs = expit(alpha * (ratings[matchups[:, 0]] - ratings[matchups[:, 1]]))
        loss = -((np.log(probs) * outcomes + np.log(1.0 - probs) * (1.0 - outcomes)) * weights).sum()
        grad = np.zeros_like(ratings)
        np.add.at(grad, matchups, (-alpha * (outcomes - probs) * weights)[:, None] * np.array([1.0, -1.0]))
        return float(loss), grad

    result = minimize(loss_and_grad, np.zeros(n_models), jac=True, method="L-BFGS-B",
                      options={"maxiter": 100, "gtol": tol})
    return np.asarray(result.x)


def _fastchat_compute_bt(battles: Battles, base: float = 10.0, scale: float = 400.0, init_rating: float = 1000.0,
                         tol: float = 1e-6) -> dict[str, float]:
    """FastChat ``rating_systems.compute_bt`` (preprocess_for_bt -> fit_bt -> scale_and_offset) without pandas,
    then mixtral-8x7b-instruct-v0.1 moved to 1114 when present."""
    models, matchups, outcomes, counts = _fastchat_preprocess_for_bt(battles)
    scaled = _fastchat_fit_bt(matchups, outcomes, counts, len(models), math.log(base), tol) * scale + init_rating
    if MIXTRAL in models:
        scaled += 1114 - scaled[models.index(MIXTRAL)]
    return dict(zip(models, scaled.tolist(), strict=True))


def _fastchat_compute_bootstrap_bt(battles: Battles, num_round: int, base: float = 10.0, scale: float = 400.0,
                                   init_rating: float = 1000.0, tol: float = 1e-6) -> dict[str, tuple[float, float]]:
    """FastChat ``rating_systems.compute_bootstrap_bt`` without pandas and its process pool, then the 2.5 / 97.5%
    quantiles its leaderboard takes: ``default_rng(seed=0).multinomial(n=len(battles), pvals=counts /
    counts.sum())`` for every round, each round's weights divided by len(battles) and fitted from zero."""
    models, matchups, outcomes, counts = _fastchat_preprocess_for_bt(battles)
    draws = np.random.default_rng(seed=0).multinomial(n=len(battles), pvals=counts / counts.sum(), size=num_round)
    fits = [_fastchat_fit_bt(matchups, outcomes, draw.astype(np.float64) / len(battles), len(models),
                             math.log(base), tol) for draw in draws]
    low, high = np.percentile(np.array(fits) * scale + init_rating, [2.5, 97.5], axis=0)
    return {name: (float(low[i]), float(high[i])) for i, name in enumerate(models)}


def _fastchat_compute_mle_elo(battles: Battles, base: float = 10.0, scale: float = 400.0,
                              init_rating: float = 1000.0) -> dict[str, float]:
    """FastChat ``elo_analysis.compute_mle_elo``, the logistic-regression form: every battle appears twice, a tie
    as one win for each side; features +-ln(base), no intercept, no penalty. sklearn's lbfgs solver is a thin wrapper
    of scipy's L-BFGS-B on the mean log-loss (tol -> gtol), so we call scipy directly."""
    models = list(dict.fromkeys(name for a, b, _ in battles for name in (a, b)))
    index = {name: i for i, name in enumerate(models)}
    doubled = battles + battles
    n = len(doubled)
    x = np.zeros((n, len(models)))
    x[np.arange(n), [index[a] for a, _, _ in doubled]] = math.log(base)
    x[np.arange(n), [index[b] for _, b, _ in doubled]] = -math.log(base)
    y = np.array([w == "model_a" for _, _, w in doubled], dtype=np.float64)
    y[: len(battles)] += [w in ("tie", "tie (bothbad)") for _, _, w in battles]

    def loss_and_grad(coef: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ coef
        return float(np.mean(np.logaddexp(0.0, z) - y * z)), x.T @ (expit(z) - y) / n

    result = minimize(loss_and_grad, np.zeros(len(models)), jac=True, method="L-BFGS-B",
                      options={"maxiter": 100, "gtol": 1e-8, "ftol": 64 * np.finfo(float).eps})
    return dict(zip(models, (scale * result.x + init_rating).tolist(), strict=True))


def test_two_models_gap_is_the_log_odds_of_the_win_rate() -> None:
    ratings = bradley_terry([BattleCount("a", "b", "model_a", 75), BattleCount("a", "b", "model_b", 25)])
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(0.75 / 0.25), abs=0.5)
    assert (ratings["a"] + ratings["b"]) / 2 == pytest.approx(1000)


def test_ties_of_both_kinds_count_as_half_a_win() -> None:
    with_ties = bradley_terry([
        BattleCount("a", "b", "model_a", 50), BattleCount("b", "a", "model_a", 20),
        BattleCount("a", "b", "tie", 10), BattleCount("b", "a", "tie (bothbad)", 20),
    ])
    without = bradley_terry([BattleCount("a", "b", "model_a", 65), BattleCount("a", "b", "model_b", 35)])
    assert with_ties == pytest.approx(without, abs=0.01)
    assert with_ties["a"] - with_ties["b"] == pytest.approx(400 * math.log10(65 / 35), abs=0.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(_battle_counts, max_size=12))
def test_swapping_sides_leaves_ratings_unchanged(counts: list[BattleCount]) -> None:
    mirrored = [BattleCount(c.model_b, c.model_a, MIRROR[c.outcome], c.count) for c in counts]
    assert bradley_terry(mirrored) == pytest.approx(bradley_terry(counts), abs=1e-3)


def test_bootstrap_intervals_cover_the_true_ratings() -> None:
    true = {"a": 1150.0, "b": 1050.0, "c": 1000.0, "d": 800.0}
    # Ratings are anchored at mean 1000, so that is where the truth must be compared.
    centred = {name: rating - float(np.mean(list(true.values()))) + 1000 for name, rating in true.items()}
    covered = 0
    for seed in range(10):
        intervals = bootstrap_intervals(_synthetic(seed, true, 2000), seed=seed)
        covered += sum(low <= centred[name] <= high for name, (low, high) in intervals.items())
        # Coverage is only worth something if the intervals are narrow enough to separate these models.
        assert all(high - low < 80 for low, high in intervals.values())
    # 40 nominal-95% intervals; the percentile bootstrap with 100 rounds runs a little under, near 92%.
    assert covered >= 32


def test_matches_fastchat_compute_bt_with_its_mixtral_anchor() -> None:
    true = {MIXTRAL: 1114.0, "gpt": 1250.0, "llama": 1050.0, "tiny": 850.0, "mid": 1000.0}
    counts = _synthetic(3, true, 3000, tie_share=0.25)
    reference = _fastchat_compute_bt(_expand(counts))
    ours = bradley_terry(counts, anchor=(MIXTRAL, 1114))
    # The only difference left is our L2 (1e-5 per battle): a few thousandths of a point (0.003 measured).
    assert ours == pytest.approx(reference, abs=0.01)


def test_matches_fastchat_on_disconnected_groups_each_at_mean_init_rating() -> None:
    counts = _synthetic(4, {"a": 1100.0, "b": 1000.0, "c": 900.0}, 600, tie_share=0.2)
    counts += _synthetic(5, {"x": 1300.0, "y": 1000.0}, 300)
    reference = _fastchat_compute_bt(_expand(counts))
    ours = bradley_terry(counts)
    assert ours == pytest.approx(reference, abs=0.01)
    assert np.mean([ours[m] for m in "abc"]) == pytest.approx(1000) and np.mean([ours[m] for m in "xy"]) == 1000


def test_matches_fastchat_logistic_regression_compute_mle_elo() -> None:
    counts = _synthetic(6, {"a": 1200.0, "b": 1080.0, "c": 1000.0, "d": 900.0}, 2000, tie_share=0.3)
    assert bradley_terry(counts) == pytest.approx(_fastchat_compute_mle_elo(_expand(counts)), abs=0.01)


def test_bootstrap_intervals_match_fastchat_compute_bootstrap_bt() -> None:
    counts = _synthetic(7, {"a": 1150.0, "b": 1050.0, "c": 1000.0, "d": 900.0}, 2000, tie_share=0.2)
    battles = sorted(_expand(counts))
    # Models first seen in alphabetical order: FastChat's rows come in the order of ours, so the same seed
    # draws the same bootstrap samples, and only the fits' tolerances can tell the intervals apart.
    assert list(dict.fromkeys(a for a, _, _ in battles)) == ["a", "b", "c", "d"]
    reference = _fastchat_compute_bootstrap_bt(battles, 100)
    ours = bootstrap_intervals(counts, rounds=100, seed=0)
    assert set(ours) == set(reference)
    for model, (low, high) in reference.items():
        assert high - low > 10  # a real spread, not a degenerate sample
        assert ours[model] == pytest.approx((low, high), abs=0.01)  # 0.002 measured; another seed: 5 points


def test_unbeaten_and_winless_models_stay_finite() -> None:
    ratings = bradley_terry([BattleCount("champ", "b", "model_a", 10), BattleCount("b", "c", "model_a", 5),
                             BattleCount("c", "b", "model_a", 5), BattleCount("loser", "c", "model_b", 3)])
    assert all(math.isfinite(r) for r in ratings.values())
    assert ratings["champ"] > ratings["b"] + 400 and ratings["loser"] < ratings["c"] - 400
    assert bradley_terry([BattleCount("a", "b", "model_a", 1)])["a"] > 1000


def test_no_battles_and_bad_input() -> None:
    assert bradley_terry([]) == {} and bootstrap_intervals([]) == {} and win_rate_matrix([]) == {}
    assert bradley_terry([BattleCount("a", "b", "model_a", 0)]) == {}
    assert leaderboard([]).standings == ()
    with pytest.raises(ValueError, match="unknown outcome"):
        bradley_terry([BattleCount("a", "b", "a", 1)])
    with pytest.raises(ValueError, match="itself"):
        online_elo([BattleCount("a", "a", "tie", 1)])


def test_online_elo_on_a_hand_computed_sequence() -> None:
    ratings = online_elo([
        BattleCount("a", "b", "model_a", 1),  # 1000 vs 1000: expected 0.5, a += 4 * 0.5
        BattleCount("b", "c", "tie (bothbad)", 1),  # b 998 vs c 1000: expected 1 / (1 + 10 ** (2 / 400))
        BattleCount("c", "a", "model_b", 2),  # two updates in a row
    ])
    e_b = 1 / (1 + 10 ** (2 / 400))
    b, c = 998 + 4 * (0.5 - e_b), 1000 - 4 * (0.5 - e_b)
    a = 1002.0
    for _ in range(2):
        update = 4 * (0 - 1 / (1 + 10 ** ((a - c) / 400)))
        c, a = c + update, a - update
    assert ratings == pytest.approx({"a": a, "b": b, "c": c}, abs=1e-9)
    assert ratings["b"] == pytest.approx(998.011513, abs=1e-6)


def test_ranks_count_models_clearly_above() -> None:
    intervals = {"a": (1100.0, 1200.0), "b": (1050.0, 1150.0), "c": (900.0, 1040.0), "d": (800.0, 950.0)}
    ratings = {name: (low + high) / 2 for name, (low, high) in intervals.items()}
    assert ranks(ratings, intervals) == {"a": 1, "b": 1, "c": 3, "d": 3}


def test_win_rate_matrix_counts_ties_as_half() -> None:
    matrix = win_rate_matrix([BattleCount("a", "b", "model_a", 6), BattleCount("b", "a", "tie", 2),
                              BattleCount("b", "a", "model_a", 2), BattleCount("c", "a", "tie (bothbad)", 1)])
    assert matrix["a"]["b"] == pytest.approx(0.7) and matrix["b"]["a"] == pytest.approx(0.3)
    assert matrix["c"] == {"a": 0.5} and "c" not in matrix["b"]


def test_leaderboard_sorted_with_votes_and_ranks() -> None:
    counts = _synthetic(8, {"a": 1300.0, "b": 1000.0, "c": 990.0}, 900)
    board = leaderboard(counts, rounds=50, seed=1)
    ratings = [s.rating for s in board.standings]
    assert ratings == sorted(ratings, reverse=True) and board.standings[0].model == "a"
    votes = {s.model: s.votes for s in board.standings}
    assert votes == {m: sum(c.count for c in counts if m in (c.model_a, c.model_b)) for m in "abc"}
    assert board.battles == 900 and sum(votes.values()) == 1800
    # b and c are 10 points apart: their intervals overlap, so they share rank 2 behind a.
    assert [s.rank for s in board.standings] == [1, 2, 2]
    assert all(s.ci_low <= s.rating <= s.ci_high for s in board.standings)
