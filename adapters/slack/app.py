"""The Slack bot on Bolt's AsyncApp: /compare, vote and *Why?* buttons, /leaderboard, /arena-models, /export,
/arena-settings, /arena-forget-me, /arena-train.

Each handler parses the request and hands it to the chat flow as a ``SlackSurface``; the flow acknowledges
first (Slack's 3-second rule), then does the slow work."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
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

from adapters import channel_commands
from adapters.flow import SOMETHING_WENT_WRONG, ChatFlow
from adapters.slack import render
from adapters.slack.settings import SlackSettings
from adapters.slack.surface import SlackSurface
from adapters.train_flow import TrainingChat
from bot.config import Settings
from bot.errors import ConfigError
from bot.service import ArenaService

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


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


def thread_of(message: dict[str, Any]) -> str | None:
    """The thread a message is a reply in; None for a message in the channel (a thread's parent has its own ts as
    ``thread_ts``: it is in the channel)."""
    thread_ts = message.get("thread_ts")
    return str(thread_ts) if thread_ts and thread_ts != message.get("ts") else None


def follow_up_place(view: dict[str, Any]) -> tuple[str, str, str | None]:
    """The comparison, channel and thread the follow-up modal was opened for: its private_metadata, which the bot
    wrote and Slack hands back in a signed request (an unknown comparison id is refused like a forged button)."""
    where = json.loads(view.get("private_metadata") or "{}")
    return str(where.get("comparison", "")), str(where.get("channel", "")), where.get("thread_ts") or None


def build_app(service: ArenaService, settings: Settings, credentials: SlackCredentials) -> AsyncApp:
    slack = settings.slack
    flow = ChatFlow(service)
    training = TrainingChat(service, Path(settings.arena.adapters_dir))
    client = AsyncWebClient(token=credentials.bot_token, base_url=slack.api_base_url)
    # Several comparisons streaming at once can hit chat.update's rate limit: wait and retry, as Slack asks.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(
        client=client,
        signing_secret=credentials.signing_secret,
        # Socket Mode needs no signing secret; over HTTP Bolt verifies every request with it.
        request_verification_enabled=bool(credentials.signing_secret),
    )

    def surface(client: AsyncWebClient, ack: AsyncAck, team: str, user: str, channel: str,
                **extra: Any) -> SlackSurface:
        return SlackSurface(client, ack, team=team, user=user, channel=channel,
                            admin_user_ids=slack.admin_user_ids, update_interval=settings.arena.stream_interval_s,
                            export_command=slack.export_command, **extra)

    def command_surface(client: AsyncWebClient, ack: AsyncAck, command: dict[str, Any],
                        respond: AsyncRespond | None = None) -> SlackSurface:
        return surface(client, ack, command.get("team_id", ""), command["user_id"], command["channel_id"],
                       respond=respond)

    @app.command(slack.compare_command)
    async def compare(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        matchup, prompt = split_matchup(unescape(command.get("text", "")))
        await flow.compare(command_surface(client, ack, command), prompt, matchup)

    @app.action(re.compile(r"^vote_(a|b|tie|bad)$"))
    async def vote(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        clicked = surface(client, ack, body.get("team", {}).get("id", ""), body["user"]["id"], body["channel"]["id"],
                          message_ts=body["message"]["ts"], thread_ts=thread_of(body["message"]))
        await flow.vote_button(clicked, str(action.get("value", "")), at=click_time(action))

    def clicked_surface(client: AsyncWebClient, ack: AsyncAck, body: dict[str, Any], **extra: Any) -> SlackSurface:
        return surface(client, ack, body.get("team", {}).get("id", ""), body["user"]["id"], body["channel"]["id"],
                       thread_ts=thread_of(body.get("message") or {}), trigger_id=body.get("trigger_id"),
                       ack_answers=False, **extra)

    @app.action(render.FOLLOW_UP_ACTION)
    async def follow_up_click(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                              client: AsyncWebClient) -> None:
        message_ts = (body.get("message") or {}).get("ts")
        await flow.action_button(clicked_surface(client, ack, body, message_ts=message_ts),
                                 str(action.get("value", "")))

    @app.action(render.REGENERATE_ACTION)
    async def regenerate_click(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient) -> None:
        # No message_ts: the regenerated comparison is a message of its own (in the same thread, if any).
        await flow.action_button(clicked_surface(client, ack, body), str(action.get("value", "")))

    @app.view(render.FOLLOW_UP_VIEW)
    async def follow_up_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                  client: AsyncWebClient) -> None:
        comparison, channel, thread_ts = follow_up_place(view)
        text = view["state"]["values"][render.FOLLOW_UP_BLOCK][render.FOLLOW_UP_INPUT].get("value") or ""
        user = body["user"]
        submitted = surface(client, ack, user.get("team_id") or body.get("team", {}).get("id", ""), user["id"],
                            channel, thread_ts=thread_ts, ack_answers=False)
        await flow.follow_up(submitted, comparison, text)

    @app.action(render.WHY_ACTION)
    async def why(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await flow.why_button(clicked_surface(client, ack, body), str(action.get("value", "")))

    @app.view(render.WHY_CALLBACK)
    async def why_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            client: AsyncWebClient) -> None:
        submitted = render.submitted_reason(view)
        if submitted is None:
            await ack()
            return
        comparison_id, channel, reason = submitted
        boxed = surface(client, ack, body.get("team", {}).get("id", ""), body["user"]["id"], channel,
                        ack_answers=False)
        await flow.reason(boxed, comparison_id, reason)

    @app.command(slack.forget_command)
    async def forget_me(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await flow.forget_me(command_surface(client, ack, command))

    @app.action(render.CONFIRM_ACTION)
    async def forget_confirmed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient) -> None:
        await flow.forget_confirmed(clicked_surface(client, ack, body), str(action.get("value", "")))

    @app.command(slack.leaderboard_command)
    async def leaderboard(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                          client: AsyncWebClient) -> None:
        matchup, scope = channel_commands.parse_leaderboard(command.get("text", ""))
        await flow.leaderboard(command_surface(client, ack, command, respond), matchup, scope)

    @app.command(slack.models_command)
    async def models(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await flow.models(command_surface(client, ack, command))

    @app.command(slack.export_command)
    async def export(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await flow.export(command_surface(client, ack, command), command.get("text", "").strip() or "csv")

    @app.command(slack.settings_command)
    async def settings_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await flow.settings_text(command_surface(client, ack, command), slack.settings_command,
                                 unescape(command.get("text", "")))

    @app.command(slack.train_command)
    async def train(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        # "matchup:M" as /compare takes it, or the bare name.
        text = command.get("text", "").strip().removeprefix("matchup:").strip()
        await training.train(command_surface(client, ack, command), text or None)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
        log.error("slack handler failed", exc_info=error)
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if channel and user:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=SOMETHING_WENT_WRONG)
            except SlackApiError:
                log.warning("could not tell the user about the error either")

    return app


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
