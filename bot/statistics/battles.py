"""Battles grouped into counts, the input of every statistic: ``count`` votes between two models that
ended one way, and the grouping of arena-schema rows (ours or the public lmsys ones) into such counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.outcomes import WINNERS


@dataclass(frozen=True)
class BattleCount:
    """``count`` battles between ``model_a`` and ``model_b`` that ended with ``outcome`` (an lmsys winner value)."""

    model_a: str
    model_b: str
    outcome: str
    count: int


def count_battles(rows: Iterable[Mapping[str, Any]]) -> tuple[list[BattleCount], int]:
    """Group arena-schema rows (ours or the public lmsys ones) into counts; returns them and how many
    rows were skipped for lacking a known ``winner`` or either model."""
    grouped: dict[tuple[str, str, str], int] = {}
    skipped = 0
    for row in rows:
        a, b, winner = row.get("model_a"), row.get("model_b"), row.get("winner")
        if not a or not b or winner not in WINNERS:
            skipped += 1
            continue
        key = (str(a), str(b), str(winner))
        grouped[key] = grouped.get(key, 0) + 1
    return [BattleCount(a, b, w, n) for (a, b, w), n in grouped.items()], skipped
