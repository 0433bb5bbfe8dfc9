"""The web arena as the chat flow's surface: what the flow shows becomes events (plain dicts) on a queue, which
the arena handler sends to the browser as server-sent events while the comparison runs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.flow import FOLLOW_UP_NOT_HERE
from adapters.web import views
from bot.domain import Comparison, Matchup, Place, Reveal, Tally
from bot.statistics.report import ArenaReport

UPDATE_INTERVAL_S = 0.25
NO_FILES = "Exports are downloaded from the admin page."
# The web arena's visitors are anonymous sessions: nothing to give a reason as, nobody to forget.
NO_REASONS = "Reasons for votes are given in Discord, Slack or the terminal, not on the web arena."
NO_FORGET = ("The web arena keeps no account of you; to delete data given in Discord or Slack, use "
             "/arena-forget-me there.")

Event = dict[str, Any]


class WebSurface:
    """One arena request from one visitor. Nothing here is admin: exports go through /admin."""

    admins = "the web admins (who hold the admin token)"
    export_command = "/admin"
    shows_ratings = False
    streams = True
    update_interval = UPDATE_INTERVAL_S
    roles: tuple[str, ...] = ()

    def __init__(self, voter: str, place: Place) -> None:
        self.voter = voter
        self.place = place
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.reveal: Reveal | None = None
        self.refused: str | None = None

    def is_admin(self) -> bool:
        return False

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        self.events.put_nowait({"event": "started"})

    async def refuse(self, text: str) -> None:
        self.refused = text
        self.events.put_nowait({"event": "refused", "message": text})

    withdraw = refuse
    tell = refuse

    async def show_comparison(self, comparison: Comparison) -> None:
        self.events.put_nowait({"event": "comparison", "comparison": views.arena_comparison(comparison)})

    async def show_reveal(self, reveal: Reveal) -> None:
        self.reveal = reveal
        self.events.put_nowait({"event": "reveal", "reveal": views.reveal_json(reveal)})

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        self.events.put_nowait({"event": "votes", "votes": votes})

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        """The leaderboard has its own page (/)."""

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None:
        """The arena draws a matchup as chat does; there is no models command on the web."""

    async def send_file(self, path: Path, text: str) -> None:
        await self.refuse(NO_FILES)

    async def ask_follow_up(self, comparison_id: str) -> None:
        await self.refuse(FOLLOW_UP_NOT_HERE)
    async def ask_reason(self, comparison_id: str) -> None:
        await self.refuse(NO_REASONS)

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        await self.refuse(NO_FORGET)
    async def announce(self, places: Sequence[Place], text: str) -> None:
        """The web arena has no channels: its leaderboard page shows each matchup's decision instead."""
