"""Bias checks (bot/statistics/bias.py): position bias, tie shares and votes per voter."""

from __future__ import annotations

from bot.statistics.battles import BattleCount
from bot.statistics.bias import bias_report


def test_bias_report_counts_positions_not_models() -> None:
    counts = [
        BattleCount("base", "tuned", "model_a", 2),
        BattleCount("tuned", "base", "model_a", 1),  # the other model on side A: still a side-A win
        BattleCount("base", "tuned", "model_b", 1),
        BattleCount("base", "tuned", "tie", 1),
        BattleCount("tuned", "base", "tie", 1),
        BattleCount("base", "tuned", "tie (bothbad)", 1),
        BattleCount("tuned", "base", "model_b", 0),  # an empty group changes nothing
    ]
    # Three voters cast those 7 votes: 4, 2 and 1 of them.
    report = bias_report(counts, [1, 4, 2])
    # Decided: 3 side-A wins + 1 side-B win = 4, so A wins 3/4 = 0.75.
    assert report.decided == 4
    assert report.a_side_win_rate == 0.75
    # All 7 votes are the denominator of the shares: 2 ties -> 2/7, 1 both-bad -> 1/7.
    assert report.tie_share == 2 / 7
    assert report.both_bad_share == 1 / 7
    # Votes per voter sorted 1, 2, 4: median 2, max 4.
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (3, 2.0, 4)


def test_bias_report_median_of_an_even_number_of_voters_is_the_mean_of_the_middle_two() -> None:
    report = bias_report([BattleCount("x", "y", "model_b", 12)], [2, 6, 1, 3])
    # Sorted 1, 2, 3, 6: median (2 + 3) / 2 = 2.5; every decided vote went to B.
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (4, 2.5, 6)
    assert (report.decided, report.a_side_win_rate, report.tie_share, report.both_bad_share) == (12, 0.0, 0.0, 0.0)


def test_bias_report_with_only_ties_has_no_side_win_rate() -> None:
    report = bias_report([BattleCount("x", "y", "tie", 3), BattleCount("x", "y", "tie (bothbad)", 1)], [4])
    # No decided vote: no rate, rather than 0 or a division by zero; ties 3/4, both-bad 1/4.
    assert (report.decided, report.a_side_win_rate) == (0, None)
    assert (report.tie_share, report.both_bad_share) == (0.75, 0.25)


def test_bias_report_of_no_votes() -> None:
    report = bias_report([], [])
    assert (report.a_side_win_rate, report.decided, report.tie_share, report.both_bad_share) == (None, 0, None, None)
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (0, None, 0)
