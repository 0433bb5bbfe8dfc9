"""The Slack bot on Bolt's AsyncApp: /compare, vote buttons, /leaderboard, /arena-models, /export.

Every handler acknowledges first (Slack's 3-second rule), then does the slow work."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters import charts, ids
from adapters.pacing import Pacer
from adapters.slack import render
from adapters.slack.settings import SlackSettings
from bot import display
from bot.config import Settings
from bot.domain import Comparison, Place
from bot.errors import ArenaError, ConfigError
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
GENERIC_ERROR = "Something went wrong on our side; the error is logged. Please try again."


@dataclass(frozen=True)
class SlackCredentials:
    bot_token: str
    app_token: str = ""
    signing_secret: str = ""

    def __repr__(self) -> str:  # never print secrets, even in a traceback
        return "SlackCredentials(<redacted>)"


def slack_credentials(settings: SlackSettings, env: Mapping[str, str], *, http: bool) -> SlackCredentials:
    def need(key: str, variable: str) -> str:
        value = env.get(variable, "").strip()
        if not value:
            raise ConfigError(f"slack.{key}", f"the environment variable {variable} is not set")
        return value

    bot_token = need("bot_token_env", settings.bot_token_env)
    if http:
        return SlackCredentials(bot_token, signing_secret=need("signing_secret_env", settings.signing_secret_env))
    return SlackCredentials(bot_token, app_token=need("app_token_env", settings.app_token_env))


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in slash-command text as entities; the model gets what was typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_matchup(text: str) -> tuple[str | None, str]:
    """``matchup:NAME rest of prompt`` picks a matchup; anything else is all prompt."""
    match = re.match(r"\s*matchup:(\S+)\s*(.*)", text, re.DOTALL)
    return (match[1], match[2]) if match else (None, text)


def click_time(action: dict[str, Any]) -> dt.datetime | None:
    """When the member clicked (Slack's ``action_ts``), so the latest click wins across bot processes."""
    try:
        return dt.datetime.fromtimestamp(float(action["action_ts"]), dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def voter(team_id: str, user_id: str) -> str:
    return f"slack:{team_id}:{user_id}"


def build_app(service: ArenaService, settings: Settings, credentials: SlackCredentials) -> AsyncApp:
    slack = settings.slack
    client = AsyncWebClient(token=credentials.bot_token, base_url=slack.api_base_url)
    # Several comparisons streaming at once can hit chat.update's rate limit: wait and retry, as Slack asks.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(
        client=client,
        signing_secret=credentials.signing_secret,
        # Socket Mode needs no signing secret; over HTTP Bolt verifies every request with it.
        request_verification_enabled=bool(credentials.signing_secret),
    )

    @app.command(slack.compare_command)
    async def compare(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        team, user, channel = command.get("team_id", ""), command["user_id"], command["channel_id"]
        matchup, prompt = split_matchup(unescape(command.get("text", "")))
        try:
            comparison = service.prepare(prompt, voter(team, user), Place("slack", channel=channel, server=team),
                                         matchup)
        except ArenaError as exc:
            await ack(text=render.escape(exc.user_message))
            return
        await ack()
        await run_comparison(service, settings, client, comparison, channel, user)

    @app.action(re.compile(r"^vote_(a|b|tie|bad)$"))
    async def vote(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]
        parsed = ids.parse_vote_id(str(action.get("value", "")))
        try:
            if parsed is None:
                raise ArenaError("This button is not one of ours.")
            comparison_id, choice = parsed
            reveal = await service.vote(comparison_id, voter(body.get("team", {}).get("id", ""), user), choice,
                                        at=click_time(action))
        except ArenaError as exc:
            await client.chat_postEphemeral(channel=channel, user=user, text=render.escape(exc.user_message))
            return
        await client.chat_postEphemeral(channel=channel, user=user, text=render.escape(display.reveal_text(reveal)))
        comparison = await service.get(comparison_id)
        await client.chat_update(channel=channel, ts=body["message"]["ts"], text=render.fallback_text(comparison),
                                 blocks=render.comparison_blocks(comparison, reveal.counts.total))

    @app.command(slack.leaderboard_command)
    async def leaderboard(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                          client: AsyncWebClient) -> None:
        name = command.get("text", "").strip() or None
        try:
            service.matchup(name)
        except ArenaError as exc:
            await ack(text=render.escape(exc.user_message))
            return
        await ack()
        tallies = await service.leaderboard(name)
        report = await service.report(BattleQuery(matchup=name))
        await respond(blocks=render.leaderboard_blocks(tallies, report), text="Leaderboard",
                      response_type="in_channel")
        png = await asyncio.to_thread(charts.chart_png, report)
        await client.files_upload_v2(channel=command["channel_id"], content=png, filename="leaderboard.png",
                                     title="Arena ratings and win rates")

    @app.command(slack.models_command)
    async def models(ack: AsyncAck) -> None:
        matchups = [service.matchups[n] for n in sorted(service.matchups)]
        await ack(blocks=render.models_blocks(matchups, service.default_matchup), text="Matchups")

    @app.command(slack.export_command)
    async def export(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        fmt = command.get("text", "").strip().lower() or "csv"
        if command["user_id"] not in slack.admin_user_ids:
            await ack(text="Only the bot's admins (slack.admin_user_ids) can export votes.")
            return
        if fmt not in ("csv", "jsonl"):
            await ack(text=f"Usage: {slack.export_command} csv|jsonl")
            return
        await ack(text="Preparing the export; it will arrive in a direct message.")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        # Only this workspace's votes, and only to the admin who asked (a direct message, not the channel).
        query = BattleQuery(platform="slack", server=command.get("team_id", ""), drop_identity_leaks=False,
                            drop_failed=False)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"arena-votes-{stamp}.{fmt}"
            with path.open("w", encoding="utf-8", newline="") as out:
                rows = await service.export(fmt, out, query)
            content = await asyncio.to_thread(path.read_bytes)
        direct = await client.conversations_open(users=command["user_id"])
        await client.files_upload_v2(channel=direct["channel"]["id"], content=content, filename=path.name,
                                     initial_comment=f"{rows} vote(s) exported.")

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
        log.error("slack handler failed", exc_info=error)
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if channel and user:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=GENERIC_ERROR)
            except SlackApiError:
                log.warning("could not tell the user about the error either")

    return app


async def run_comparison(service: ArenaService, settings: Settings, client: AsyncWebClient,
                         comparison: Comparison, channel: str, user: str) -> None:
    """Post the comparison, stream replies into it with chat.update, then add the vote buttons."""
    posted: dict[str, str] = {}
    pacer = Pacer(settings.arena.stream_interval_s)

    async def show(progress: Comparison) -> None:
        await pacer.wait()  # the final update too stays within chat.update's rate
        blocks = render.comparison_blocks(progress)
        if "ts" not in posted:
            response = await client.chat_postMessage(channel=channel, text=render.fallback_text(progress),
                                                     blocks=blocks)
            posted["ts"] = str(response["ts"])
        else:
            await client.chat_update(channel=channel, ts=posted["ts"], text=render.fallback_text(progress),
                                     blocks=blocks)

    try:
        result = await service.run(comparison, on_update=show, update_interval=settings.arena.stream_interval_s)
    except ArenaError as exc:
        await client.chat_postEphemeral(channel=channel, user=user, text=render.escape(exc.user_message))
        return
    if "ts" not in posted:
        # The first post failed (the progress callback only logs); tell the member how to fix it.
        await client.chat_postEphemeral(channel=channel, user=user, text=(
            "I could not post in this channel. Invite me with /invite, then try again."))
        return
    await show(result)


async def serve_slack(service: ArenaService, settings: Settings, credentials: SlackCredentials,
                      *, http_port: int | None = None, host: str = "0.0.0.0") -> None:
    app = build_app(service, settings, credentials)
    if http_port is not None:
        runner = web.AppRunner(app.web_app(path=EVENTS_PATH))
        await runner.setup()
        await web.TCPSite(runner, host, http_port).start()
        log.info("Slack HTTP mode listening on %s:%d%s", host, http_port, EVENTS_PATH)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
    else:
        handler = AsyncSocketModeHandler(app, credentials.app_token)
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        try:
            await asyncio.Event().wait()
        finally:
            await handler.close_async()
