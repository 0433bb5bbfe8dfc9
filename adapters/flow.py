"""The one chat flow: the sequence every chat command follows, and the wording of its messages.

A front end (Discord, Slack, the terminal, a web page) implements ``Surface`` for one request — acknowledge,
show, answer privately, attach a file, who is asking and where — and formats what it is given. It does not
sequence: ``ChatFlow`` checks, acknowledges, runs the service, paces the updates and says what to show."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path

from adapters import channel_commands, charts, ids
from adapters.surface import Surface
from bot import display
from bot.channels import Effective
from bot.domain import Choice, Comparison, Reveal
from bot.errors import ArenaError
from bot.judge_report import agreement_lines, judge_report, with_judge
from bot.ports import Forgotten
from bot.progress import Progress
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery

log = logging.getLogger(__name__)

# Formats a chat member can ask for (the binary ones are for the command line).
CHAT_EXPORT_FORMATS = ("csv", "jsonl")

SOMETHING_WENT_WRONG = "Something went wrong on our side; the error is logged. Please try again."
CANNOT_POST = "I could not post in this channel. Invite me with /invite, then try again."
NOT_OUR_BUTTON = "This button is not one of ours."
FOLLOW_UP_NOT_HERE = "Follow-ups are not offered here: ask in Discord, Slack or the terminal (/follow TEXT)."
PREPARING_EXPORT = "Preparing the export; it will arrive in a direct message."


WHY_TITLE = "Why this choice?"  # fits Slack's 24-character modal title
WHY_PLACEHOLDER = "What made one reply better, or both bad? Exports keep it, pseudonymised."
FORGET_WARNING = ("This deletes every vote and reason you gave here, and every comparison you asked for with "
                  "all the votes on them. It cannot be undone.")
FORGET_BUTTON = "Delete my data"


def reason_recorded(reason: str) -> str:
    return f"Your reason is recorded: “{reason}”. Send another to replace it."


def forgotten(found: Forgotten) -> str:
    if not (found.votes or found.comparisons):
        return "There was nothing of yours to delete."
    return (f"Deleted: {display.plural(found.votes, 'vote')} ({found.reasons} with a reason), "
            f"{display.plural(found.comparisons, 'comparison')} you asked for and "
            f"{display.plural(found.others_votes, 'vote')} others gave on them.")


def export_refused(admins: str) -> str:
    return f"Only {admins} can export votes."


def exported(rows: int) -> str:
    return f"{rows} vote(s) exported."


def usage(command: str, arguments: str) -> str:
    return f"Usage: {command} {arguments}"


class ChatFlow:
    """The compare, vote (and why), leaderboard, models, export, settings and forget-me commands, for any
    ``Surface``. Every command and button but the admins' own and forget-me first passes the channel's settings
    and allow-lists (``admit``)."""

    def __init__(self, service: ArenaService) -> None:
        self.service = service

    async def admit(self, surface: Surface) -> Effective | None:
        """The settings that apply where the member asks, or None once refused (privately) when the arena is
        off there or the member is not on its allow-list."""
        try:
            return await self.service.channels.admit(surface.place, surface.voter, surface.roles,
                                                     surface.is_admin())
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None

    async def compare(self, surface: Surface, prompt: str, matchup: str | None = None) -> Comparison | None:
        """Check -> acknowledge -> stream progress -> the final message with vote buttons. Returns the finished
        comparison, or None when it was refused or could not be shown."""
        here = await self.admit(surface)
        if here is None:
            return None
        try:
            comparison = self.service.prepare(prompt, surface.voter, surface.place, matchup or here.matchup,
                                              blind=here.blind)
            await self.service.take_turn(surface.voter, here)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        return await self._run(surface, comparison)

    async def follow_up(self, surface: Surface, comparison_id: str, prompt: str) -> Comparison | None:
        """The next turn of a conversation, shown like a comparison (the surface puts it where the conversation
        is: a thread) and votable on its own. Both models answer with their own side's history."""
        here = await self.admit(surface)
        if here is None:
            return None
        try:
            comparison = await self.service.follow_up(comparison_id, prompt, surface.voter, surface.place)
            await self.service.take_turn(surface.voter, here)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        return await self._run(surface, comparison)

    async def regenerate(self, surface: Surface, comparison_id: str) -> Comparison | None:
        """The same prompt again as a new comparison with sides drawn afresh; the original stays votable."""
        here = await self.admit(surface)
        if here is None:
            return None
        try:
            comparison = await self.service.regenerate(comparison_id, surface.voter, surface.place)
            await self.service.take_turn(surface.voter, here)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        return await self._run(surface, comparison)

    async def action_button(self, surface: Surface, button_id: str) -> Comparison | None:
        """A Follow up click (opens the follow-up box) or a Regenerate click (runs it); anything else is refused."""
        follow = ids.parse_action_id(button_id, ids.FOLLOW)
        if follow is not None:
            await surface.ask_follow_up(follow)
            return None
        regenerate = ids.parse_action_id(button_id, ids.REGENERATE)
        if regenerate is None:
            await surface.refuse(NOT_OUR_BUTTON)
            return None
        return await self.regenerate(surface, regenerate)

    async def _run(self, surface: Surface, comparison: Comparison) -> Comparison | None:
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
        if await self.admit(surface) is None:
            return None
        return await self._vote(surface, comparison_id, choice, at)

    async def vote_button(self, surface: Surface, button_id: str, at: dt.datetime | None = None) -> Reveal | None:
        """A vote from a button's id (``cmp:{id}:vote:{choice}``); anything else is refused."""
        # A click is acknowledged first: Slack shows no text given with a click's acknowledgement, so a refusal
        # must come after it, privately. An old button in a channel switched off since refuses too.
        await surface.acknowledge()
        if await self.admit(surface) is None:
            return None
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

    async def why_button(self, surface: Surface, button_id: str) -> None:
        """The *Why?* button under a reveal: open the box for the reason (the box is the acknowledgement)."""
        comparison_id = ids.parse_why_id(button_id)
        if comparison_id is None:
            await surface.refuse(NOT_OUR_BUTTON)
            return
        await surface.ask_reason(comparison_id)

    async def reason(self, surface: Surface, comparison_id: str, text: str) -> str | None:
        """Store why the member voted as they did (from the box, or typed); the latest reason wins."""
        await surface.acknowledge(private=True)
        try:
            stored = await self.service.give_reason(comparison_id, surface.voter, text)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        await surface.tell(reason_recorded(stored))
        return stored

    async def forget_me(self, surface: Surface) -> None:
        """The first step of forgetting a member: what it deletes, privately, with a button to confirm."""
        await surface.confirm(FORGET_WARNING, ids.FORGET_CONFIRM, FORGET_BUTTON)

    async def forget_confirmed(self, surface: Surface, button_id: str) -> Forgotten | None:
        """The confirmation: delete the data of whoever clicked (never anyone else's) and say what went."""
        await surface.acknowledge(private=True)
        if button_id != ids.FORGET_CONFIRM:
            await surface.refuse(NOT_OUR_BUTTON)
            return None
        try:
            found = await self.service.forget(surface.voter)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        await surface.tell(forgotten(found))
        return found

    async def leaderboard(self, surface: Surface, matchup: str | None = None, scope: str | None = None) -> None:
        """Tallies, ratings and the chart for one matchup or all, of every vote or of ``scope``'s: the member's
        own (``me``), this channel's or this server's."""
        if await self.admit(surface) is None:
            return
        try:
            self.service.matchup(matchup)
            heading, query = channel_commands.leaderboard_slice(scope, surface.voter, surface.place, matchup)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return
        # A member's own votes are theirs: their board is shown to them only.
        private = scope == channel_commands.ME
        await surface.acknowledge(private=private)
        # Where ratings are shown, the style-controlled ones beside them (issue #16).
        style = surface.shows_ratings
        tallies = await self.service.leaderboard(matchup, query if scope else None, verdicts=True, style=style)
        report, chart = None, None
        if surface.shows_ratings:
            # The report leaderboard(verdicts=True) just made, from the service's cache.
            report = await self.service.report(query, verdicts=True, style=style)
            report = await with_judge(report, self.service.repository, self._judge_name())
            chart = await asyncio.to_thread(charts.chart_png, report)
        await surface.show_leaderboard(tallies, report, chart, heading, private)
        if report is None and self.service.judge is not None:
            # A surface without the ratings (the terminal) gets the judge's agreement in words after the tallies.
            found = await judge_report(self.service.repository, self.service.judge.name, query, ())
            await surface.tell("\n".join(agreement_lines(found)))

    def _judge_name(self) -> str | None:
        return self.service.judge.name if self.service.judge is not None else None

    async def models(self, surface: Surface, current: str | None = None) -> None:
        if await self.admit(surface) is None:
            return
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

    async def settings(self, surface: Surface, action: str, scope: str = "",
                       values: Mapping[str, str | None] | None = None) -> None:
        """``show`` (anyone: what applies here, and where each value comes from), or ``set``/``reset`` keys for
        this channel or the whole server (admins only; never refused by the allow-lists, so an admin can switch
        a channel back on)."""
        control = self.service.channels
        try:
            if action != channel_commands.SHOW:
                if not surface.is_admin():
                    raise ArenaError(channel_commands.settings_refused(surface.admins))
                await control.change(surface.place, scope, values or {}, surface.voter)
            here = await control.effective(surface.place)
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return
        saved = channel_commands.saved(scope) if action != channel_commands.SHOW else ""
        await surface.tell(channel_commands.show_text(here, control.defaults, saved))

    async def settings_text(self, surface: Surface, command: str, text: str) -> None:
        """``/arena-settings`` typed as text (Slack, the terminal): ``show``, ``set SCOPE key=value ...`` or
        ``reset SCOPE key ...``."""
        try:
            action, scope, values = channel_commands.parse_command(text)
        except ArenaError as exc:
            await surface.refuse(f"{exc.user_message}\n{usage(command, channel_commands.USAGE)}")
            return
        await self.settings(surface, action, scope, values)

    async def export_file(self, fmt: str, path: Path, query: BattleQuery | None = None) -> int:
        """Write the votes of a slice (all by default) to ``path``; returns how many rows."""
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                return await self.service.export(fmt, out, query)
        except OSError as exc:
            raise ArenaError(f"Cannot write {path}: {exc.strerror or type(exc).__name__}.") from None
