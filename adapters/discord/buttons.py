"""Persistent buttons under a comparison (vote, *Follow up*, *Regenerate*): the comparison id lives in the
``custom_id``, so clicks on old messages still work after a restart (``DynamicItem``; nothing is kept in memory).
And the follow-up modal a *Follow up* click opens."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from adapters import ids
from bot import display
from bot.domain import Choice, Comparison, Status

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


FOLLOW_UP_LABEL = "Follow up"
REGENERATE_LABEL = "Regenerate"
MODAL_TITLE = "Follow up"  # Discord: at most 45 characters
FIELD_LABEL = "Your next message to both models"
FIELD_MAX = 4000  # Discord's limit for a text input; the arena's own prompt limit is checked after
BUTTON_IDS = r"cmp:(?P<id>[0-9a-f]{1,32}):(?P<action>follow|regen)"


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_IDS):
    """*Follow up* or *Regenerate* under a finished comparison; persistent like the vote buttons."""

    def __init__(self, comparison_id: str, action: str) -> None:
        label = FOLLOW_UP_LABEL if action == ids.FOLLOW else REGENERATE_LABEL
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, row=1,
                                           custom_id=ids.action_id(comparison_id, action)))
        self.comparison_id = comparison_id
        self.action = action

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionButton:
        return cls(match["id"], match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        client: ArenaClient = interaction.client  # type: ignore[assignment]
        await client.flow.action_button(client.new_message_surface(interaction),
                                        ids.action_id(self.comparison_id, self.action))


class FollowUpModal(discord.ui.Modal):
    """The follow-up box; its submission (interaction type 5) runs the next turn."""

    def __init__(self, comparison_id: str, member: int) -> None:
        # discord.py keeps open modals by custom_id: one per member, or one member's submission would end another's.
        super().__init__(title=MODAL_TITLE, custom_id=ids.follow_up_box_id(comparison_id, str(member)), timeout=None)
        self.comparison_id = comparison_id
        self.text: discord.ui.TextInput[FollowUpModal] = discord.ui.TextInput(
            label=FIELD_LABEL, style=discord.TextStyle.paragraph, max_length=FIELD_MAX, custom_id="text")
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        client: ArenaClient = interaction.client  # type: ignore[assignment]
        await client.flow.follow_up(client.thread_surface(interaction), self.comparison_id, self.text.value)


def vote_view(comparison: Comparison) -> discord.ui.View:
    """Under a finished comparison: the four vote buttons, then *Follow up* (when both replies are in) and
    *Regenerate* on a second row; a failed one gets *Regenerate* alone."""
    view = discord.ui.View(timeout=None)
    done = comparison.status is Status.DONE
    for choice in Choice if done else ():
        view.add_item(VoteButton(comparison.id, choice))
    if done and not comparison.reply_problem:
        view.add_item(ActionButton(comparison.id, ids.FOLLOW))
    view.add_item(ActionButton(comparison.id, ids.REGENERATE))
    return view
