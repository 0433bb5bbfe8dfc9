from __future__ import annotations

import numpy as np
import pytest

from bot.statistics.outliers import VoterVote, find_outliers

MODELS = ("m0", "m1", "m2", "m3", "m4")
STRENGTH = np.array([0.0, 0.5, 1.0, 1.5, 2.0])


def _arena(seed: int, honest: int, random: int = 0, contrarian: int = 0, votes_each: int = 40) -> list[VoterVote]:
    """Honest voters follow Bradley-Terry on STRENGTH with 15% ties; random ones click A, B or tie evenly;
    contrarians vote like honest ones and then flip A and B."""
    rng = np.random.default_rng(seed)
    kinds = ["honest"] * honest + ["random"] * random + ["contrarian"] * contrarian
    votes = []
    for number, kind in enumerate(kinds):
        for _ in range(votes_each):
            a, b = rng.choice(len(MODELS), size=2, replace=False)
            if kind == "random":
                winner = str(rng.choice(["model_a", "model_b", "tie"]))
            elif rng.random() < 0.15:
                winner = "tie"
            else:
                a_wins = bool(rng.random() < 1 / (1 + np.exp(STRENGTH[b] - STRENGTH[a])))
                winner = "model_a" if a_wins != (kind == "contrarian") else "model_b"
            votes.append(VoterVote(f"{kind}-{number}", MODELS[a], MODELS[b], winner))
    return votes


def test_random_clickers_and_contrarians_are_found_and_honest_voters_are_not() -> None:
    report = find_outliers(_arena(0, honest=56, random=2, contrarian=2))
    assert report.voters == 60
    assert report.voter_ids == {"random-56", "random-57", "contrarian-58", "contrarian-59"}
    assert report.removed_votes == 160
    assert [o.e_value for o in report.outliers] == sorted((o.e_value for o in report.outliers), reverse=True)
    contrarian = next(o for o in report.outliers if o.voter.startswith("contrarian"))
    assert contrarian.against > 2 * contrarian.expected_against
    assert contrarian.e_value >= 60 / 0.01


@pytest.mark.parametrize("seed", range(5))
def test_an_honest_arena_flags_nobody(seed: int) -> None:
    assert find_outliers(_arena(seed, honest=80)).outliers == ()


def test_a_few_odd_votes_are_not_enough() -> None:
    votes = _arena(1, honest=40)
    votes += [VoterVote("newcomer", "m4", "m0", "model_b"), VoterVote("newcomer", "m0", "m4", "model_a")]
    assert "newcomer" not in find_outliers(votes).voter_ids


def test_the_side_a_pair_was_shown_on_does_not_matter() -> None:
    votes = _arena(2, honest=30, contrarian=1)
    mirrored = [
        VoterVote(v.voter, v.model_b, v.model_a, {"model_a": "model_b", "model_b": "model_a"}.get(v.winner, v.winner))
        for v in votes
    ]
    assert find_outliers(votes) == find_outliers(mirrored)


def test_no_votes_and_bad_votes() -> None:
    assert find_outliers([]).outliers == ()
    with pytest.raises(ValueError, match="unknown winner"):
        find_outliers([VoterVote("v", "a", "b", "a")])
