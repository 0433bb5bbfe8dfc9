"""Persistent vote buttons: the comparison id lives in the ``custom_id``, so clicks on old
messages still work after a restart (``DynamicItem``; nothing is kept in memory)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from adapters import ids
from bot import display
from bot.domain import Choice, Comparison

if TYPE_CHECKING:
    from adapters.discord.client import ArenaClient

STYLES = {Choice.A: discord.ButtonStyle.primary, Choice.B: discord.ButtonStyle.primary,
          Choice.TIE: discord.ButtonStyle.secondary, Choice.BOTH_BAD: discord.ButtonStyle.danger}


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ids.VOTE_PATTERN):
    def __init__(self, comparison_id: str, choice: Choice) -> None:
        super().__init__(discord.ui.Button(label=display.CHOICE_LABELS[choice], style=STYLES[choice],
                                           custom_id=ids.vote_id(comparison_id, choice)))
        self.comparison_id = comparison_id
        self.choice = choice

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> VoteButton:
        return cls(match["id"], ids.choice_from_code(match["choice"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        client: ArenaClient = interaction.client  # type: ignore[assignment]
        # The click's own time (from its snowflake id): the latest click wins across bot processes.
        await client.flow.vote(client.surface(interaction), self.comparison_id, self.choice,
                               at=interaction.created_at)


def vote_view(comparison: Comparison) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for choice in Choice:
        view.add_item(VoteButton(comparison.id, choice))
    return view
