"""One Discord interaction as the chat flow's surface: deferring, the original response, ephemeral follow-ups.

Everything sent escapes markdown and mentions and carries ``AllowedMentions.none()``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import discord

from adapters.discord import render
from adapters.discord.buttons import WhyModal, confirm_view, open_follow_up, vote_view, why_view
from bot import display
from bot.domain import Comparison, Matchup, Place, Reveal, Status, Tally
from bot.statistics.report import ArenaReport

CHART_NAME = "leaderboard.png"
# What Discord accepts as an attachment when the interaction does not say (no boost).
ATTACHMENT_LIMIT = 8 * 1024 * 1024


def voter(user: discord.abc.User) -> str:
    return f"discord:{user.id}"


def place_of(interaction: discord.Interaction) -> Place:
    """Where a request happens. A thread (a conversation's follow-ups) belongs to its channel: the channel's
    settings and allow-lists apply in it, and its votes count in the channel's slice."""
    channel = interaction.channel
    channel_id = channel.parent_id if isinstance(channel, discord.Thread) else interaction.channel_id
    return Place(platform="discord", channel=str(channel_id or ""), server=str(interaction.guild_id or "dm"))


class DiscordSurface:
    admins = "members with the Manage Server permission (or the bot's admins)"
    export_command = "/export"
    streams = True
    shows_ratings = True

    def __init__(self, interaction: discord.Interaction, admin_user_ids: Sequence[str],
                 update_interval: float) -> None:
        self.interaction = interaction
        self.voter = voter(interaction.user)
        self.place = place_of(interaction)
        self.update_interval = update_interval
        self._admin_user_ids = admin_user_ids
        # A guild member's roles (a direct message has none); @everyone is every member's, so it is left out.
        self.roles = tuple(str(role.id) for role in getattr(interaction.user, "roles", ()) if not role.is_default())

    def is_admin(self) -> bool:
        if str(self.interaction.user.id) in self._admin_user_ids:
            return True
        return bool(self.interaction.guild_id and self.interaction.permissions.manage_guild)

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        # A deferral carries no text on Discord: ``note`` shows as the "thinking…" state instead.
        if self.interaction.type is discord.InteractionType.component:
            await self.interaction.response.defer()  # a click: the message stays as it is
        else:
            await self.interaction.response.defer(thinking=True, ephemeral=private)

    async def refuse(self, text: str) -> None:
        if self.interaction.response.is_done():
            await self.interaction.followup.send(render.safe(text), ephemeral=True,
                                                 allowed_mentions=render.NO_MENTIONS)
        else:
            await self.interaction.response.send_message(render.safe(text), ephemeral=True,
                                                         allowed_mentions=render.NO_MENTIONS)

    tell = refuse

    async def withdraw(self, text: str) -> None:
        await self.interaction.edit_original_response(content=render.safe(f"⚠ {text}"), embeds=[],
                                                      allowed_mentions=render.NO_MENTIONS)

    async def show_comparison(self, comparison: Comparison) -> None:
        extra: dict[str, Any] = {}
        if comparison.status is not Status.RUNNING:  # the final message: its buttons
            extra["view"] = vote_view(comparison)
        await self.interaction.edit_original_response(**render.comparison_message(comparison), **extra)

    async def show_reveal(self, reveal: Reveal) -> None:
        await self.interaction.followup.send(render.safe(display.reveal_text(reveal)), ephemeral=True,
                                             view=why_view(reveal.comparison_id), allowed_mentions=render.NO_MENTIONS)

    async def ask_reason(self, comparison_id: str) -> None:
        await self.interaction.response.send_modal(WhyModal(comparison_id))

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        await self.interaction.response.send_message(render.safe(text), view=confirm_view(label), ephemeral=True,
                                                     allowed_mentions=render.NO_MENTIONS)

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        await self.interaction.edit_original_response(content=render.header(comparison, votes),
                                                      allowed_mentions=render.NO_MENTIONS)

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        assert report is not None and chart is not None, "shows_ratings: the flow passes both"
        embed = render.leaderboard_embed(tallies, report)
        if heading:
            embed.title = f"{embed.title} — {heading}"
        embed.set_image(url=f"attachment://{CHART_NAME}")
        await self.interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(chart), filename=CHART_NAME),
                                             allowed_mentions=render.NO_MENTIONS, ephemeral=private)

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None:
        await self.interaction.response.send_message(embed=render.models_embed(list(matchups), default),
                                                     ephemeral=True)

    async def ask_follow_up(self, comparison_id: str) -> None:
        await open_follow_up(self.interaction, comparison_id)

    async def show_status(self, text: str) -> None:
        await self.interaction.edit_original_response(content=render.safe(text), embeds=[],
                                                      allowed_mentions=render.NO_MENTIONS)

    async def send_file(self, path: Path, text: str) -> None:
        size = path.stat().st_size
        limit = getattr(self.interaction, "attachment_size_limit", ATTACHMENT_LIMIT)
        if size > limit:
            await self.refuse(f"The export ({size:,} bytes) is larger than Discord accepts here; run "
                              "`ftarena export` on the server instead.")
            return
        await self.interaction.followup.send(text, file=discord.File(path), ephemeral=True)

    async def announce(self, places: Sequence[Place], text: str) -> None:
        """In each channel by id (a partial channel: no cache or fetch needed to send)."""
        for place in places:
            if place.channel.isdigit():
                channel = self.interaction.client.get_partial_messageable(int(place.channel))
                await channel.send(render.safe(text), allowed_mentions=render.NO_MENTIONS)
