"""The Discord bot: slash commands (/compare, /leaderboard, /models, /export, /arena-settings, /arena-forget-me,
/arena-train) on the chat flow.

Each handler parses the interaction and hands it to the flow as a ``DiscordSurface``. No privileged intents."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands

from adapters import channel_commands, ids
from adapters.discord import render
from adapters.discord.buttons import (
    ActionButton,
    ForgetButton,
    VoteButton,
    WhyButton,
    follow_up_submitted,
    submitted_reason,
)
from adapters.discord.conversation import NewMessageSurface, ThreadSurface
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import DiscordSurface
from adapters.flow import SOMETHING_WENT_WRONG, ChatFlow
from adapters.train_flow import TRAIN_COMMAND, TrainingChat
from bot.channels import KEYS, SCOPES
from bot.config import Settings
from bot.errors import ConfigError
from bot.service import ArenaService

log = logging.getLogger(__name__)

DISCORD_API = "https://discord.com/api/v10"


def configure_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py at a Discord-compatible server (self-hosted, or a local peer in tests)."""
    discord.http.Route.BASE = settings.api_base_url.rstrip("/") or DISCORD_API
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class ArenaClient(discord.Client):
    def __init__(self, service: ArenaService, settings: Settings, **options: Any) -> None:
        if settings.discord.shard_count:
            options.update(shard_id=settings.discord.shard_id, shard_count=settings.discord.shard_count)
        super().__init__(intents=discord.Intents.default(), allowed_mentions=render.NO_MENTIONS, **options)
        self.service = service
        self.flow = ChatFlow(service)
        self.training = TrainingChat(service, Path(settings.arena.adapters_dir))
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self._on_command_error)
        add_commands(self.tree, self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton, ActionButton, WhyButton, ForgetButton)
        guild_ids = self.settings.discord.guild_ids
        if guild_ids:
            for guild_id in guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("slash commands synced (%s)", f"guilds {list(guild_ids)}" if guild_ids else "globally")

    def surface(self, interaction: discord.Interaction) -> DiscordSurface:
        return DiscordSurface(interaction, self.settings.discord.admin_user_ids,
                              self.settings.arena.stream_interval_s)

    def new_message_surface(self, interaction: discord.Interaction) -> NewMessageSurface:
        """For a click that starts a comparison (Regenerate): it gets a message of its own."""
        return NewMessageSurface(interaction, self.settings.discord.admin_user_ids,
                                 self.settings.arena.stream_interval_s)

    def thread_surface(self, interaction: discord.Interaction) -> ThreadSurface:
        """For a follow-up: the new turn goes in the conversation's thread."""
        return ThreadSurface(interaction, self.settings.discord.admin_user_ids,
                             self.settings.arena.stream_interval_s)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A submitted box (*Follow up*: the next turn; *Why?*: the vote's reason), read from its ids rather than
        from a modal kept in memory (discord.py's way), so that it arrives after a restart or at another process."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        submitted = follow_up_submitted(interaction)
        why = ids.parse_why_id(str(data.get("custom_id", "")))
        try:
            if submitted is not None:
                await self.flow.follow_up(self.thread_surface(interaction), *submitted)
            elif why is not None and (reason := submitted_reason(data)) is not None:
                await self.flow.reason(self.surface(interaction), why, reason)
        except Exception:
            # As for a command: logged with its traceback, and the member is told (never the error itself).
            log.exception("a submitted box on comparison %s failed", (submitted or (why,))[0])
            await self.surface(interaction).refuse(SOMETHING_WENT_WRONG)

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
        await self.surface(interaction).refuse(SOMETHING_WENT_WRONG)


def add_commands(tree: app_commands.CommandTree[ArenaClient], client: ArenaClient) -> None:
    flow = client.flow
    matchup_names = matchup_autocomplete(client)

    @tree.command(name="compare", description="Put a prompt to the base and the fine-tuned model, then vote")
    @app_commands.describe(prompt="What to ask both models", matchup="Which pair of models (default if empty)")
    @app_commands.autocomplete(matchup=matchup_names)
    async def compare(interaction: discord.Interaction, prompt: str, matchup: str | None = None) -> None:
        await flow.compare(client.surface(interaction), prompt, matchup)

    @tree.command(name="leaderboard", description="Win rate of each fine-tuned model with its 95% interval")
    @app_commands.describe(scope="Whose votes: yours, this channel's or this server's (default: all)")
    @app_commands.choices(scope=[app_commands.Choice(name=name, value=name)
                                 for name in channel_commands.LEADERBOARD_SCOPES])
    @app_commands.autocomplete(matchup=matchup_names)
    async def leaderboard(interaction: discord.Interaction, matchup: str | None = None,
                          scope: app_commands.Choice[str] | None = None) -> None:
        await flow.leaderboard(client.surface(interaction), matchup, scope.value if scope else None)

    @tree.command(name="models", description="List the matchups this bot compares")
    async def models(interaction: discord.Interaction) -> None:
        await flow.models(client.surface(interaction))

    tree.add_command(settings_group(client))
    @tree.command(name="arena-forget-me", description="Delete your votes, reasons and comparisons (asks first)")
    async def forget_me(interaction: discord.Interaction) -> None:
        await flow.forget_me(client.surface(interaction))

    @tree.command(name="export", description="Download every vote as arena battles (Manage Server only)")
    @app_commands.choices(format=[app_commands.Choice(name="CSV", value="csv"),
                                  app_commands.Choice(name="JSON Lines", value="jsonl")])
    async def export(interaction: discord.Interaction, format: app_commands.Choice[str]) -> None:
        await flow.export(client.surface(interaction), format.value)

    @tree.command(name=TRAIN_COMMAND.removeprefix("/"),
                  description="Train the next fine-tune from a matchup's votes (Manage Server only)")
    @app_commands.describe(matchup="Whose votes; its fine-tuned model is the parent (default if empty)")
    @app_commands.autocomplete(matchup=matchup_names)
    async def arena_train(interaction: discord.Interaction, matchup: str | None = None) -> None:
        await client.training.train(client.surface(interaction), matchup)


async def serve_discord(service: ArenaService, settings: Settings, token: str) -> None:
    configure_endpoints(settings.discord)
    client = ArenaClient(service, settings)
    async with client:
        try:
            await client.start(token)
        except discord.LoginFailure:
            raise ConfigError(settings.discord.token_env, "Discord refused this bot token") from None


def matchup_autocomplete(client: ArenaClient) -> Any:
    """Autocomplete for a ``matchup`` option: the configured names containing what was typed."""
    async def matchup_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [n for n in sorted(client.service.matchups) if current.lower() in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    return matchup_names


SCOPE_CHOICES = [app_commands.Choice(name=name, value=name) for name in SCOPES]


def settings_group(client: ArenaClient) -> app_commands.Group:
    """``/arena-settings show``, ``set`` (one option per setting; those left empty stay as they are) and
    ``reset`` (back to the server's value, or the config file's)."""
    flow = client.flow
    group = app_commands.Group(name="arena-settings", description="The arena's settings in this channel or server")

    @group.command(name="show", description="What applies in this channel, and where each value comes from")
    async def show(interaction: discord.Interaction) -> None:
        await flow.settings(client.surface(interaction), channel_commands.SHOW)

    @group.command(name="set", description="Change settings for this channel or the whole server (Manage Server)")
    @app_commands.describe(scope="This channel or the whole server", **KEYS)
    @app_commands.choices(scope=SCOPE_CHOICES)
    @app_commands.autocomplete(matchup=matchup_autocomplete(client))
    async def set_(interaction: discord.Interaction, scope: app_commands.Choice[str], enabled: bool | None = None,
                   matchup: str | None = None, blind: bool | None = None, roles: str | None = None,
                   users: str | None = None, rate_limit: app_commands.Range[int, 0, 10_000] | None = None) -> None:
        given = {"enabled": enabled, "matchup": matchup, "blind": blind, "roles": roles, "users": users,
                 "rate_limit": rate_limit}
        values: dict[str, str | None] = {key: ("on" if value else "off") if isinstance(value, bool) else str(value)
                                         for key, value in given.items() if value is not None}
        await flow.settings(client.surface(interaction), channel_commands.SET, scope.value, values)

    @group.command(name="reset", description="Clear a setting here, so the server's or the config's applies")
    @app_commands.choices(scope=SCOPE_CHOICES,
                          key=[app_commands.Choice(name=key, value=key) for key in KEYS])
    async def reset(interaction: discord.Interaction, scope: app_commands.Choice[str],
                    key: app_commands.Choice[str]) -> None:
        await flow.settings(client.surface(interaction), channel_commands.RESET, scope.value, {key.value: None})

    return group
