"""The Discord bot: slash commands (/compare, /leaderboard, /models, /export) on the arena service.

Each handler parses the interaction, calls the service, renders, replies. No privileged intents."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import tempfile
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands

from adapters import charts
from adapters.discord import render
from adapters.discord.buttons import VoteButton, vote_view
from adapters.discord.settings import DiscordSettings
from adapters.pacing import Pacer
from bot.config import Settings
from bot.domain import Comparison, Place, Status
from bot.errors import ArenaError, ConfigError
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery

log = logging.getLogger(__name__)

DISCORD_API = "https://discord.com/api/v10"
CHART_NAME = "leaderboard.png"


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

    def voter(self, user: discord.abc.User) -> str:
        return f"discord:{user.id}"

    def can_export(self, interaction: discord.Interaction) -> bool:
        if str(interaction.user.id) in self.settings.discord.admin_user_ids:
            return True
        return bool(interaction.guild_id and interaction.permissions.manage_guild)

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
        message = "Something went wrong on our side; the error is logged. Please try again."
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)


def place_of(interaction: discord.Interaction) -> Place:
    return Place(platform="discord", channel=str(interaction.channel_id or ""),
                 server=str(interaction.guild_id or "dm"))


async def refuse(interaction: discord.Interaction, message: str) -> None:
    """A private, plain-text answer (used for every known error)."""
    if interaction.response.is_done():
        await interaction.followup.send(render.safe(message), ephemeral=True, allowed_mentions=render.NO_MENTIONS)
    else:
        await interaction.response.send_message(render.safe(message), ephemeral=True,
                                                allowed_mentions=render.NO_MENTIONS)


def add_commands(tree: app_commands.CommandTree[ArenaClient], client: ArenaClient) -> None:
    service = client.service

    async def matchup_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [n for n in sorted(service.matchups) if current.lower() in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    @tree.command(name="compare", description="Put a prompt to the base and the fine-tuned model, then vote")
    @app_commands.describe(prompt="What to ask both models", matchup="Which pair of models (default if empty)")
    @app_commands.autocomplete(matchup=matchup_names)
    async def compare(interaction: discord.Interaction, prompt: str, matchup: str | None = None) -> None:
        try:
            comparison = service.prepare(prompt, client.voter(interaction.user), place_of(interaction), matchup)
        except ArenaError as exc:
            await refuse(interaction, exc.user_message)
            return
        await interaction.response.defer(thinking=True)
        pacer = Pacer(client.settings.arena.stream_interval_s)

        async def show(progress: Comparison) -> None:
            await pacer.wait()
            await interaction.edit_original_response(**render.comparison_message(progress))

        try:
            result = await service.run(comparison, on_update=show,
                                       update_interval=client.settings.arena.stream_interval_s)
        except ArenaError as exc:
            await interaction.edit_original_response(content=render.safe(f"⚠ {exc.user_message}"), embeds=[],
                                                     allowed_mentions=render.NO_MENTIONS)
            return
        view = vote_view(result) if result.status is Status.DONE else None
        await pacer.wait()  # the final edit too stays within Discord's edit rate
        await interaction.edit_original_response(**render.comparison_message(result), view=view)

    @tree.command(name="leaderboard", description="Win rate of each fine-tuned model with its 95% interval")
    @app_commands.autocomplete(matchup=matchup_names)
    async def leaderboard(interaction: discord.Interaction, matchup: str | None = None) -> None:
        try:
            service.matchup(matchup)
        except ArenaError as exc:
            await refuse(interaction, exc.user_message)
            return
        await interaction.response.defer(thinking=True)
        tallies = await service.leaderboard(matchup)
        report = await service.report(BattleQuery(matchup=matchup))
        png = await asyncio.to_thread(charts.chart_png, report)
        embed = render.leaderboard_embed(tallies, report)
        embed.set_image(url=f"attachment://{CHART_NAME}")
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename=CHART_NAME),
                                        allowed_mentions=render.NO_MENTIONS)

    @tree.command(name="models", description="List the matchups this bot compares")
    async def models(interaction: discord.Interaction) -> None:
        matchups = [service.matchups[n] for n in sorted(service.matchups)]
        await interaction.response.send_message(embed=render.models_embed(matchups, service.default_matchup),
                                                ephemeral=True)

    @tree.command(name="export", description="Download every vote as arena battles (Manage Server only)")
    @app_commands.choices(format=[app_commands.Choice(name="CSV", value="csv"),
                                  app_commands.Choice(name="JSON Lines", value="jsonl")])
    async def export(interaction: discord.Interaction, format: app_commands.Choice[str]) -> None:
        if not client.can_export(interaction):
            await refuse(interaction, "Only members with the Manage Server permission (or the bot's admins) "
                                      "can export votes.")
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"arena-votes-{stamp}.{format.value}"
            # Only this server's votes: other communities' data never leaves with it.
            query = BattleQuery(platform="discord", server=str(interaction.guild_id or "dm"),
                                drop_identity_leaks=False, drop_failed=False)
            with path.open("w", encoding="utf-8", newline="") as out:
                rows = await service.export(format.value, out, query)
            limit = getattr(interaction, "attachment_size_limit", 8 * 1024 * 1024)
            if path.stat().st_size > limit:
                await refuse(interaction, f"The export ({path.stat().st_size:,} bytes) is larger than Discord "
                                          "accepts here; run `ftarena export` on the server instead.")
                return
            await interaction.followup.send(f"{rows} vote(s) exported.", file=discord.File(path), ephemeral=True)


async def serve_discord(service: ArenaService, settings: Settings, token: str) -> None:
    configure_endpoints(settings.discord)
    client = ArenaClient(service, settings)
    async with client:
        try:
            await client.start(token)
        except discord.LoginFailure:
            raise ConfigError(settings.discord.token_env, "Discord refused this bot token") from None
