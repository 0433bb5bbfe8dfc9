"""Arena-schema rows grouped into battle counts (bot/statistics/battles.py)."""

from __future__ import annotations

from bot.statistics.battles import BattleCount, count_battles


def test_count_battles_groups_rows_and_skips_what_it_cannot_read() -> None:
    rows = [
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "y", "model_b": "x", "winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "tie (bothbad)"},
        {"model_a": "x", "model_b": "y", "winner": "both_bad"},  # our Choice value, not an lmsys winner
        {"model_a": "", "model_b": "y", "winner": "tie"},
        {"model_b": "y", "winner": "tie"},
    ]
    counts, skipped = count_battles(rows)
    assert skipped == 3
    assert sorted(counts, key=repr) == sorted([
        BattleCount("x", "y", "model_a", 2), BattleCount("y", "x", "model_a", 1),
        BattleCount("x", "y", "tie (bothbad)", 1)], key=repr)
