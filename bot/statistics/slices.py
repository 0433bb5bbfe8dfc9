"""Slices of the votes: which battles to count (matchup, platform, place, voter, time) and the quality
filters to apply, and the battles a slice holds with what each filter removed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.statistics.battles import BattleCount


@dataclass(frozen=True)
class BattleQuery:
    """A slice of the votes plus the quality filters to apply (all on by default but the cap)."""

    matchup: str | None = None
    platform: str | None = None
    server: str | None = None
    channel: str | None = None
    voter: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    drop_identity_leaks: bool = True
    drop_failed: bool = True
    daily_cap: int | None = None
    # Leave out the voters the outlier test flags (bot.statistics.outliers), counted like the other filters.
    drop_outliers: bool = False
    # Votes of these voters are not in the slice (how the outlier filter reaches the database).
    without_voters: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilterStep:
    name: str
    removed: int


@dataclass(frozen=True)
class BattleSet:
    """Grouped battles after slicing and filtering, with the votes each filter removed."""

    counts: tuple[BattleCount, ...]
    sliced: int
    steps: tuple[FilterStep, ...]

    @property
    def kept(self) -> int:
        return sum(c.count for c in self.counts)
