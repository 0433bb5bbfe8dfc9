from __future__ import annotations

import numpy as np
import pytest

from bot.outcomes import BASE, BOTH_BAD, FINETUNED, TIE
from bot.statistics.sequential import UNDECIDED, bets, decide, first_decision, scores_of


def _votes(seed: int, n: int, p_finetuned: float, p_tie: float = 0.2) -> np.ndarray:
    """Scores with P(fine-tune) = p_finetuned, P(tie) = p_tie, the rest the base."""
    rng = np.random.default_rng(seed)
    return rng.choice([1.0, 0.5, 0.0], p=[p_finetuned, p_tie, 1 - p_finetuned - p_tie], size=n)


def test_scores_count_ties_and_both_bad_as_half() -> None:
    assert scores_of([FINETUNED, BASE, TIE, BOTH_BAD]).tolist() == [1.0, 0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="unknown outcome"):
        scores_of(["model_a"])


def test_each_bet_uses_only_earlier_votes() -> None:
    x = _votes(0, 200, 0.5)
    changed = x.copy()
    changed[99] = 1 - changed[99] if changed[99] != 0.5 else 1.0
    lam, lam_changed = bets(x), bets(changed)
    assert lam[:100].tolist() == lam_changed[:100].tolist()
    assert lam[100] != lam_changed[100]


def test_a_clear_preference_is_decided_either_way() -> None:
    better = decide([1.0] * 60)
    assert better.state == FINETUNED
    assert better.describe() == "fine-tune better (anytime-valid 95%)"
    assert better.low > 0.5
    worse = decide([0.0] * 40 + [0.5] * 10)
    assert worse.state == BASE
    assert worse.describe() == "base better (anytime-valid 95%)"
    assert worse.high < 0.5


def test_undecided_states_a_projection() -> None:
    early = decide(_votes(1, 40, 0.55))
    assert early.state == UNDECIDED
    assert early.more_votes is not None and early.more_votes > 0
    assert early.describe() == f"undecided — about {early.more_votes:,} more votes at the current rate"
    even = decide([1.0, 0.0] * 10)
    assert even.more_votes is None
    assert even.describe() == "undecided — no end in sight at the current rate"
    nothing = decide([])
    assert (nothing.state, nothing.low, nothing.high) == (UNDECIDED, 0.0, 1.0)


def test_the_projection_is_right_on_average_when_the_share_holds() -> None:
    # Share 0.55: undecided after 100 votes, decided after about a thousand. One arena's projection is as noisy
    # as its share; over 40 arenas the median ratio of projected to actual remaining votes was 0.90.
    ratios = []
    for seed in range(40):
        x = _votes(seed, 20_000, 0.45)
        decided_at = int(first_decision(x)[0])
        early = decide(x[:100])
        if decided_at > 100 and early.more_votes:
            ratios.append(early.more_votes / (decided_at - 100))
    assert len(ratios) > 25
    assert 0.5 < float(np.median(ratios)) < 2


def test_the_interval_always_holds_the_share_and_a_decision_stands() -> None:
    x = _votes(3, 1500, 0.5)
    states = []
    for n in range(50, 1501, 150):
        d = decide(x[:n])
        assert d.low <= d.share <= d.high
        states.append(d.state)
    first = next((i for i, s in enumerate(states) if s != UNDECIDED), len(states))
    assert all(s == states[first] for s in states[first:])


@pytest.mark.parametrize("seed", range(12))
def test_the_grid_decision_is_the_test_of_one_half(seed: int) -> None:
    x = _votes(seed, 700, 0.47)
    decided_at = int(first_decision(x)[0])
    for n in (100, 300, 500, 700):
        assert (decide(x[:n]).state != UNDECIDED) == (0 < decided_at <= n)


def test_rarely_declares_a_winner_when_there_is_none() -> None:
    # 400 arenas of 1,000 votes each at p = 1/2; the benchmark runs the full 1,000 x 2,000.
    arenas = np.random.default_rng(5).choice([1.0, 0.5, 0.0], p=[0.4, 0.2, 0.4], size=(400, 1000))
    assert (first_decision(arenas) > 0).mean() <= 0.07


def test_finds_a_real_preference() -> None:
    arenas = (np.random.default_rng(6).random((200, 1500)) < 0.6).astype(float)
    decided = first_decision(arenas)
    assert (decided > 0).mean() > 0.95
    assert np.median(decided[decided > 0]) < 500
