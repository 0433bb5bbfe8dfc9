"""Decided-matchup announcements: after a vote, whether the matchup's anytime-valid decision has been reached
(bot.statistics.sequential) and which channels of the voter's platform have not been told yet. The database
records each channel told (``Repository.claim_announcements``), so every process and restart together tell
each channel once; a channel on another platform is told at the next vote cast on that platform.

Cost: a check reads every vote on the matchup (the columnar read) and tests 1/2 in O(votes); the full confidence
sequence is computed only once the decision is reached. After a check that took t seconds the next one on that
matchup waits ``cost_factor * t``, so checking takes at most about 1% of the time however large a matchup grows;
a decision reached meanwhile is announced at the next vote after the wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain import Matchup, Place
from bot.ports import Repository
from bot.statistics.decisions import quick_decision
from bot.statistics.sequential import Decision, first_decision
from bot.statistics.slices import BattleQuery

# Checks may take this many times their own duration apart (see the module's docstring).
COST_FACTOR = 100.0


@dataclass(frozen=True)
class Announcement:
    """What to say, and the channels (all on one platform) to say it in."""

    matchup: str
    decision: Decision
    places: tuple[Place, ...]

    @property
    def text(self) -> str:
        return (f"Decided: {self.decision.describe()} on matchup {self.matchup}, after "
                f"{self.decision.votes:,} votes (the fine-tune preferred {self.decision.share:.0%} of the time, "
                f"ties half). Further votes are still welcome.")


class DecisionWatch:
    """Checks a matchup after each vote and claims the channels to tell (``enabled=False``: never)."""

    def __init__(self, repository: Repository, matchups: Mapping[str, Matchup], clock: Callable[[], datetime],
                 enabled: bool = True, cost_factor: float = COST_FACTOR) -> None:
        self.repository = repository
        self.matchups = matchups
        self.clock = clock
        self.enabled = enabled
        self.cost_factor = cost_factor
        self._next_check: dict[str, float] = {}

    async def reached(self, matchup: str, platform: str) -> Announcement | None:
        """The announcement due on ``platform`` now that a vote on ``matchup`` came in, if any."""
        if not self.enabled or matchup not in self.matchups or time.monotonic() < self._next_check.get(matchup, 0):
            return None
        started = time.monotonic()
        try:
            return await self._check(matchup, platform)
        finally:
            self._next_check[matchup] = time.monotonic() + self.cost_factor * (time.monotonic() - started)

    async def _check(self, matchup: str, platform: str) -> Announcement | None:
        table = await self.repository.vote_table(BattleQuery(matchup=matchup))
        if not len(table):
            return None
        scores = table.finetuned_scores(matchup)
        if not await asyncio.to_thread(lambda: bool(first_decision(scores)[0])):
            return None
        places = [p for p in await self.repository.vote_places(matchup) if p.platform == platform]
        decision = await asyncio.to_thread(quick_decision, scores)
        claimed = await self.repository.claim_announcements(matchup, places, decision.state, self.clock())
        return Announcement(matchup, decision, tuple(claimed)) if claimed else None
