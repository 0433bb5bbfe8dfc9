"""Persistent buttons (vote, *Follow up*, *Regenerate*, *Why?*, confirm forget-me) and the boxes they open: the
comparison id lives in the ``custom_id``, so clicks on old messages still work after a restart (``DynamicItem``;
nothing is kept in memory)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from adapters import ids
from adapters.flow import WHY_PLACEHOLDER, WHY_TITLE
from bot import display
from bot.domain import Choice, Comparison, Status
from bot.prompts import MAX_REASON_CHARS

if TYPE_CHECKING:
    from adapters.discord.client import ArenaClient

# discord.py keeps each box it opens in memory until then; the submission is handled without it.
WHY_BOX_TIMEOUT_S = 900.0
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
FIELD_ID = "text"
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
    """The follow-up box. Its submission (interaction type 5) is handled from its custom_id alone
    (``follow_up_submitted``), not by this object: discord.py keeps open modals in memory by custom_id, so a box
    left open across a restart, or one that two members opened at once, would otherwise be lost."""

    def __init__(self, comparison_id: str) -> None:
        super().__init__(title=MODAL_TITLE, custom_id=ids.action_id(comparison_id, ids.FOLLOW_UP_BOX), timeout=None)
        self.add_item(discord.ui.TextInput(label=FIELD_LABEL, style=discord.TextStyle.paragraph,
                                           max_length=FIELD_MAX, custom_id=FIELD_ID))


async def open_follow_up(interaction: discord.Interaction, comparison_id: str) -> None:
    """Answer a click with the follow-up box, and forget it at once (``FollowUpModal``: nothing kept in memory)."""
    modal = FollowUpModal(comparison_id)
    await interaction.response.send_modal(modal)
    modal.stop()


def follow_up_submitted(interaction: discord.Interaction) -> tuple[str, str] | None:
    """The comparison id and the text of a follow-up box's submission; None for any other interaction."""
    data: Any = interaction.data or {}
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    comparison_id = ids.parse_action_id(str(data.get("custom_id", "")), ids.FOLLOW_UP_BOX)
    if comparison_id is None:
        return None
    # Text inputs come in action rows, or (Discord's newer modals) each in a label.
    fields = [field for row in data.get("components") or []
              for field in (row.get("components") or [row.get("component") or {}])]
    text = next((str(f.get("value") or "") for f in fields if f.get("custom_id") == FIELD_ID), "")
    return comparison_id, text


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


class WhyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ids.WHY_PATTERN):
    """Under the private reveal: opens the box for the reason of the vote."""

    def __init__(self, comparison_id: str) -> None:
        super().__init__(discord.ui.Button(label="Why?", style=discord.ButtonStyle.secondary,
                                           custom_id=ids.why_id(comparison_id)))
        self.comparison_id = comparison_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> WhyButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        client: ArenaClient = interaction.client  # type: ignore[assignment]
        await client.flow.why_button(client.surface(interaction), ids.why_id(self.comparison_id))


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ids.FORGET_CONFIRM):
    """The confirmation of /arena-forget-me: deletes the data of whoever clicks it."""

    def __init__(self, label: str = "Delete my data") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.danger,
                                           custom_id=ids.FORGET_CONFIRM))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ForgetButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        client: ArenaClient = interaction.client  # type: ignore[assignment]
        await client.flow.forget_confirmed(client.surface(interaction), ids.FORGET_CONFIRM)


def why_view(comparison_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(WhyButton(comparison_id))
    return view


def confirm_view(label: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(label))
    return view


class WhyModal(discord.ui.Modal):
    """The box for a vote's reason. Its submission is handled statelessly (``ArenaClient.on_interaction``,
    by its ``custom_id``), so a box opened before a restart, or by another process, still arrives."""

    def __init__(self, comparison_id: str) -> None:
        super().__init__(title=WHY_TITLE, custom_id=ids.why_id(comparison_id), timeout=WHY_BOX_TIMEOUT_S)
        self.add_item(discord.ui.TextInput(label="Reason", custom_id=ids.REASON_FIELD,
                                           style=discord.TextStyle.paragraph, placeholder=WHY_PLACEHOLDER,
                                           max_length=MAX_REASON_CHARS, required=True))


def submitted_reason(data: dict[str, Any]) -> str | None:
    """The reason typed in a submitted *Why?* box (a MODAL_SUBMIT interaction's ``data``), or None."""
    for row in data.get("components") or []:
        for component in row.get("components") or []:
            if component.get("custom_id") == ids.REASON_FIELD:
                return str(component.get("value") or "")
    return None
