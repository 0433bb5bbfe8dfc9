"""Follow-ups and regenerate on Discord: the surfaces that post a new comparison message (a follow-up in a thread
on the comparison it follows, a regenerated one beside the original) instead of editing the message clicked.
The buttons and the follow-up modal are in buttons.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from adapters.discord import render
from adapters.discord.buttons import vote_view
from adapters.discord.surface import DiscordSurface
from bot.domain import Comparison, Status

THREAD_NAME_LIMIT = 100
THREAD_EXISTS = 160004  # Discord's error code: "A thread has already been created for this message"


class NewMessageSurface(DiscordSurface):
    """A click that starts a new comparison: the clicked message stays as it is, and the new comparison is a
    message of its own beside it (an interaction follow-up, edited as the replies stream)."""

    def __init__(self, interaction: discord.Interaction, admin_user_ids: Sequence[str],
                 update_interval: float) -> None:
        super().__init__(interaction, admin_user_ids, update_interval)
        self.posted: discord.Message | None = None

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        # A deferred update: nothing shows in the channel until the new comparison is posted.
        await self.interaction.response.defer()

    async def withdraw(self, text: str) -> None:
        if self.posted is None:
            await self.refuse(text)
        else:
            await self.posted.edit(content=render.safe(f"⚠ {text}"), embeds=[], view=None,
                                   allowed_mentions=render.NO_MENTIONS)

    async def show_comparison(self, comparison: Comparison) -> None:
        message = render.comparison_message(comparison)
        if comparison.status is not Status.RUNNING:
            message["view"] = vote_view(comparison)
        if self.posted is None:
            self.posted = await self.post(comparison, message)
        else:
            self.posted = await self.posted.edit(**message)

    async def post(self, comparison: Comparison, message: dict[str, Any]) -> discord.Message:
        return await self.interaction.followup.send(wait=True, **message)


class ThreadSurface(NewMessageSurface):
    """A follow-up: the new turn goes in the thread of the comparison it follows, started on that message the
    first time (a comparison already in a thread continues there)."""

    async def post(self, comparison: Comparison, message: dict[str, Any]) -> discord.Message:
        channel = self.interaction.channel
        if isinstance(channel, discord.Thread):
            return await channel.send(**message)
        clicked = self.interaction.message
        if clicked is None:  # a modal opened from a slash command has no message: stay in the channel
            return await self.interaction.followup.send(wait=True, **message)
        thread: discord.abc.Messageable
        try:
            thread = await clicked.create_thread(name=thread_name(comparison))
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            # A thread started on a message has that message's id.
            thread = self.interaction.client.get_partial_messageable(clicked.id, guild_id=self.interaction.guild_id)
        return await thread.send(**message)


def thread_name(comparison: Comparison) -> str:
    first_line = comparison.history[0].prompt.splitlines()[0] if comparison.history else comparison.prompt
    return f"Conversation: {first_line}"[:THREAD_NAME_LIMIT]
