"""The Discord bot: slash commands (/compare, /leaderboard, /models, /export, /arena-train) on the chat flow.

Each handler parses the interaction and hands it to the flow as a ``DiscordSurface``. No privileged intents."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands

from adapters.discord import render
from adapters.discord.buttons import VoteButton
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import DiscordSurface
from adapters.flow import SOMETHING_WENT_WRONG, ChatFlow
from adapters.train_flow import TRAIN_COMMAND, TrainingChat
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
        self.add_dynamic_items(VoteButton)
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

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
        await self.surface(interaction).refuse(SOMETHING_WENT_WRONG)


def add_commands(tree: app_commands.CommandTree[ArenaClient], client: ArenaClient) -> None:
    flow = client.flow

    async def matchup_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [n for n in sorted(client.service.matchups) if current.lower() in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    @tree.command(name="compare", description="Put a prompt to the base and the fine-tuned model, then vote")
    @app_commands.describe(prompt="What to ask both models", matchup="Which pair of models (default if empty)")
    @app_commands.autocomplete(matchup=matchup_names)
    async def compare(interaction: discord.Interaction, prompt: str, matchup: str | None = None) -> None:
        await flow.compare(client.surface(interaction), prompt, matchup)

    @tree.command(name="leaderboard", description="Win rate of each fine-tuned model with its 95% interval")
    @app_commands.autocomplete(matchup=matchup_names)
    async def leaderboard(interaction: discord.Interaction, matchup: str | None = None) -> None:
        await flow.leaderboard(client.surface(interaction), matchup)

    @tree.command(name="models", description="List the matchups this bot compares")
    async def models(interaction: discord.Interaction) -> None:
        await flow.models(client.surface(interaction))

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
