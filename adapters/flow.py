"""The one chat flow: the sequence every chat command follows, and the wording of its messages.

A front end (Discord, Slack, the terminal, a web page) implements ``Surface`` for one request — acknowledge,
show, answer privately, attach a file, who is asking and where — and formats what it is given. It does not
sequence: ``ChatFlow`` checks, acknowledges, runs the service, paces the updates and says what to show."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from adapters import charts, ids
from bot.domain import Choice, Comparison, Matchup, Place, Reveal, Tally
from bot.errors import ArenaError
from bot.progress import Progress
from bot.service import ArenaService
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery

log = logging.getLogger(__name__)

# Formats a chat member can ask for (the binary ones are for the command line).
CHAT_EXPORT_FORMATS = ("csv", "jsonl")

SOMETHING_WENT_WRONG = "Something went wrong on our side; the error is logged. Please try again."
CANNOT_POST = "I could not post in this channel. Invite me with /invite, then try again."
NOT_OUR_BUTTON = "This button is not one of ours."
PREPARING_EXPORT = "Preparing the export; it will arrive in a direct message."


def export_refused(admins: str) -> str:
    return f"Only {admins} can export votes."


def exported(rows: int) -> str:
    return f"{rows} vote(s) exported."


def usage(command: str, arguments: str) -> str:
    return f"Usage: {command} {arguments}"


class Surface(Protocol):
    """One request on one front end, as the flow sees it. Methods that show something receive domain values and
    format them for the platform; ``refuse`` and ``tell`` answer only the person asking."""

    voter: str  # who is asking, as votes record them (``discord:42``)
    place: Place  # where: platform, server, channel
    update_interval: float  # how often the comparison message may change while replies stream
    streams: bool  # whether to show replies while they grow (False: only the final comparison)
    shows_ratings: bool  # whether the leaderboard shows the arena ratings and their chart beside the tallies
    admins: str  # who may export, in words ("the bot's admins (slack.admin_user_ids)")
    export_command: str  # the export command as typed here, for its usage line

    def is_admin(self) -> bool: ...

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        """Tell the platform the request arrived, before the slow work (Discord's and Slack's 3-second rule)."""
        ...

    async def refuse(self, text: str) -> None:
        """A known error, privately: before or after acknowledging."""
        ...

    async def withdraw(self, text: str) -> None:
        """An acknowledged comparison could not run: replace what the acknowledgement showed with ``text``."""
        ...

    async def tell(self, text: str) -> None:
        """Information for the person asking only."""
        ...

    async def show_comparison(self, comparison: Comparison) -> None:
        """Post the comparison, or update the message already posted; vote buttons once it is done."""
        ...

    async def show_reveal(self, reveal: Reveal) -> None:
        """The private reveal after a vote."""
        ...

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        """The public comparison message with its number of votes (never who voted)."""
        ...

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None) -> None:
        """The tallies, with the ratings and their chart (PNG) where the surface shows them."""
        ...

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None: ...

    async def send_file(self, path: Path, text: str) -> None:
        """Attach a file for the person asking only; refuse it (with the reason) when the platform cannot."""
        ...

    async def announce(self, places: Sequence[Place], text: str) -> None:
        """Post ``text`` publicly in each of ``places`` (channels of this surface's platform)."""
        ...


class ChatFlow:
    """The compare, vote, leaderboard, models and export commands, for any ``Surface``."""

    def __init__(self, service: ArenaService) -> None:
        self.service = service

    async def compare(self, surface: Surface, prompt: str, matchup: str | None = None) -> Comparison | None:
        """Check -> acknowledge -> stream progress -> the final message with vote buttons. Returns the finished
        comparison, or None when it was refused or could not be shown."""
        try:
            comparison = self.service.prepare(prompt, surface.voter, surface.place, matchup)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        await surface.acknowledge()
        # One throttle for every update of the message, the final one included.
        progress = Progress(surface.show_comparison if surface.streams else None, comparison,
                            surface.update_interval)
        try:
            result = await self.service.run(comparison, progress=progress)
        except ArenaError as exc:
            await surface.withdraw(exc.user_message)
            return None
        if not surface.streams:
            await surface.show_comparison(result)
        elif not progress.shown:
            # The first post failed (updates only log their failures): tell the member how to fix it.
            await surface.tell(CANNOT_POST)
            return None
        else:
            await progress.finish()
        return result

    async def vote(self, surface: Surface, comparison_id: str, choice: Choice | str,
                   at: dt.datetime | None = None) -> Reveal | None:
        """Acknowledge -> record -> private reveal -> public count. ``at`` is when the member clicked (the
        platform's own event time), so the latest click wins across processes."""
        await surface.acknowledge()
        return await self._vote(surface, comparison_id, choice, at)

    async def vote_button(self, surface: Surface, button_id: str, at: dt.datetime | None = None) -> Reveal | None:
        """A vote from a button's id (``cmp:{id}:vote:{choice}``); anything else is refused."""
        await surface.acknowledge()
        parsed = ids.parse_vote_id(button_id)
        if parsed is None:
            await surface.refuse(NOT_OUR_BUTTON)
            return None
        return await self._vote(surface, *parsed, at=at)

    async def _vote(self, surface: Surface, comparison_id: str, choice: Choice | str,
                    at: dt.datetime | None) -> Reveal | None:
        try:
            reveal = await self.service.vote(comparison_id, surface.voter, choice, at=at)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        await surface.show_reveal(reveal)
        await surface.show_votes(reveal.comparison, reveal.counts.total)
        await self._announce_decision(surface, reveal.comparison.matchup)
        return reveal

    async def _announce_decision(self, surface: Surface, matchup: str) -> None:
        """Tell the channels of this platform that the matchup is decided, the first time it is. The vote is
        recorded and shown by now: a failure here is logged and costs the voter nothing."""
        try:
            found = await self.service.decisions.reached(matchup, surface.place.platform)
            if found is not None:
                await surface.announce(found.places, found.text)
        except Exception:
            log.exception("could not announce the decision on matchup %s", matchup)

    async def leaderboard(self, surface: Surface, matchup: str | None = None) -> None:
        """Tallies, ratings and the chart for one matchup or all."""
        try:
            self.service.matchup(matchup)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return
        await surface.acknowledge()
        tallies = await self.service.leaderboard(matchup, verdicts=True)
        report, chart = None, None
        if surface.shows_ratings:
            # The report leaderboard(verdicts=True) just made, from the service's cache.
            report = await self.service.report(BattleQuery(matchup=matchup), verdicts=True)
            chart = await asyncio.to_thread(charts.chart_png, report)
        await surface.show_leaderboard(tallies, report, chart)

    async def models(self, surface: Surface, current: str | None = None) -> None:
        matchups = [self.service.matchups[name] for name in sorted(self.service.matchups)]
        await surface.show_models(matchups, current or self.service.default_matchup)

    async def export(self, surface: Surface, fmt: str) -> None:
        """Admins only: this server's votes (other communities' data never leaves with them), as a file sent to
        the admin alone, with voters pseudonymised."""
        if not surface.is_admin():
            await surface.refuse(export_refused(surface.admins))
            return
        fmt = fmt.strip().lower()
        if fmt not in CHAT_EXPORT_FORMATS:
            await surface.refuse(usage(surface.export_command, "|".join(CHAT_EXPORT_FORMATS)))
            return
        await surface.acknowledge(private=True, note=PREPARING_EXPORT)
        query = BattleQuery(platform=surface.place.platform, server=surface.place.server,
                            drop_identity_leaks=False, drop_failed=False)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"arena-votes-{stamp}.{fmt}"
            rows = await self.export_file(fmt, path, query)
            await surface.send_file(path, exported(rows))

    async def export_file(self, fmt: str, path: Path, query: BattleQuery | None = None) -> int:
        """Write the votes of a slice (all by default) to ``path``; returns how many rows."""
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                return await self.service.export(fmt, out, query)
        except OSError as exc:
            raise ArenaError(f"Cannot write {path}: {exc.strerror or type(exc).__name__}.") from None
