"""One Slack request (a slash command or a button click) as the chat flow's surface.

Slash commands are acknowledged with ``ack`` (which can carry a private answer); after that, private answers
are ephemeral messages. A follow-up's comparison goes in the thread of the one it follows (``thread_ts``).
Everything sent is escaped for mrkdwn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from bot import display
from bot.domain import Comparison, Matchup, Place, Reveal, Tally
from bot.statistics.report import ArenaReport

CHART_NAME = "leaderboard.png"


def voter(team_id: str, user_id: str) -> str:
    return f"slack:{team_id}:{user_id}"


class SlackSurface:
    admins = "the bot's admins (slack.admin_user_ids)"
    roles: tuple[str, ...] = ()  # Slack has no roles: allow-lists name users
    streams = True
    shows_ratings = True

    def __init__(self, client: AsyncWebClient, ack: AsyncAck, *, team: str, user: str, channel: str,
                 admin_user_ids: Sequence[str], update_interval: float, export_command: str,
                 respond: AsyncRespond | None = None, message_ts: str | None = None,
                 thread_ts: str | None = None, trigger_id: str | None = None, ack_answers: bool = True) -> None:
        self.client = client
        self._ack = ack
        self._respond = respond
        self.user = user
        self.channel = channel
        self.voter = voter(team, user)
        self.place = Place("slack", channel=channel, server=team)
        self.update_interval = update_interval
        self.export_command = export_command
        self._admin_user_ids = admin_user_ids
        self.message_ts = message_ts  # the comparison message, once posted (or the one clicked)
        self.thread_ts = thread_ts  # the thread new messages go in (a conversation's), if any
        self.trigger_id = trigger_id  # a click's, for opening a modal
        self.status_ts: str | None = None  # a training run's status message, once posted
        self.acked = False
        # A slash command's ack can carry a private answer; a click's or a modal submission's cannot.
        self._ack_answers = ack_answers

    def is_admin(self) -> bool:
        return self.user in self._admin_user_ids

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        if not self.acked:
            self.acked = True
            await (self._ack(text=note) if note else self._ack())

    async def refuse(self, text: str) -> None:
        if not self.acked and self._ack_answers:  # the acknowledgement itself carries the answer, privately
            self.acked = True
            await self._ack(text=render.escape(text))
        else:
            await self.acknowledge()
            await self.client.chat_postEphemeral(channel=self.channel, user=self.user, text=render.escape(text),
                                                 thread_ts=self.thread_ts)

    tell = refuse
    withdraw = refuse

    async def show_comparison(self, comparison: Comparison) -> None:
        await self._post_or_update(comparison, render.comparison_blocks(comparison))

    async def show_reveal(self, reveal: Reveal) -> None:
        await self.client.chat_postEphemeral(channel=self.channel, user=self.user, thread_ts=self.thread_ts,
                                             text=render.escape(display.reveal_text(reveal)),
                                             blocks=render.reveal_blocks(reveal))

    async def ask_reason(self, comparison_id: str) -> None:
        await self.acknowledge()
        assert self.trigger_id is not None, "the Why? button's click carries a trigger_id"
        await self.client.views_open(trigger_id=self.trigger_id, view=render.why_view(comparison_id, self.channel))

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        """As the slash command's acknowledgement, which only the person asking sees."""
        self.acked = True
        await self._ack(text=render.escape(text), blocks=render.confirm_blocks(text, button_id, label))

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        await self._post_or_update(comparison, render.comparison_blocks(comparison, votes))

    async def _post_or_update(self, comparison: Comparison, blocks: list[Block]) -> None:
        text = render.fallback_text(comparison)
        if self.message_ts is None:
            response = await self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks,
                                                          thread_ts=self.thread_ts)
            self.message_ts = str(response["ts"])
        else:
            await self.client.chat_update(channel=self.channel, ts=self.message_ts, text=text, blocks=blocks)

    async def show_status(self, text: str) -> None:
        if self.status_ts is None:
            response = await self.client.chat_postMessage(channel=self.channel, text=render.escape(text))
            self.status_ts = str(response["ts"])
        else:
            await self.client.chat_update(channel=self.channel, ts=self.status_ts, text=render.escape(text))

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        assert report is not None and chart is not None, "shows_ratings: the flow passes both"
        assert self._respond is not None, "a leaderboard answers a slash command"
        blocks = render.leaderboard_blocks(tallies, report)
        if heading:
            blocks.insert(0, render.heading_block(heading))
        await self._respond(blocks=blocks, text=f"Leaderboard: {heading}" if heading else "Leaderboard",
                            response_type="ephemeral" if private else "in_channel")
        if private:  # an upload to the channel would show everyone; the blocks carry the ratings already
            return
        await self.client.files_upload_v2(channel=self.channel, content=chart, filename=CHART_NAME,
                                          title="Arena ratings and win rates")

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None:
        self.acked = True
        await self._ack(blocks=render.models_blocks(list(matchups), default), text="Matchups")

    async def ask_follow_up(self, comparison_id: str) -> None:
        """Open the follow-up modal (``views.open`` with the click's trigger, valid 3 s: acknowledged first)."""
        await self.acknowledge()
        assert self.trigger_id is not None, "a Follow up click carries its trigger_id"
        where = {"comparison": comparison_id, "channel": self.channel, "thread_ts": self.thread_ts or self.message_ts}
        await self.client.views_open(trigger_id=self.trigger_id, view=render.follow_up_view(json.dumps(where)))

    async def send_file(self, path: Path, text: str) -> None:
        # Only to the admin who asked: a direct message, not the channel.
        direct = await self.client.conversations_open(users=self.user)
        content = await asyncio.to_thread(path.read_bytes)
        await self.client.files_upload_v2(channel=direct["channel"]["id"], content=content,
                                          filename=path.name, initial_comment=text)

    async def announce(self, places: Sequence[Place], text: str) -> None:
        """In each channel of this workspace (the token posts in no other)."""
        for place in places:
            if place.server == self.place.server and place.channel:
                await self.client.chat_postMessage(channel=place.channel, text=render.escape(text))
