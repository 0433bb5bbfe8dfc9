"""The fake Slack's workspace and the JSON it sends or expects: slash-command and button-click payloads
as Slack posts them, bot messages, file objects and the Socket Mode ``hello``."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

TEAM_ID = "T0FAKETEAM"
TEAM_DOMAIN = "fake-arena"
APP_ID = "A0FAKEAPP1"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
DEFAULT_USER_ID = "U0FAKEUSR1"
DEFAULT_CHANNEL_ID = "C0FAKECHN1"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "fake-verification-token"

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
# Interactive payload types whose ack may carry a response (e.g. view_submission errors).
RESPONSE_PAYLOAD_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})


def new_trigger_id() -> str:
    """A trigger_id shaped like Slack's (``<digits>.<digits>.<hex>``), starting with the time of the click in
    milliseconds so views.open can hold it to Slack's 3 seconds."""
    return f"{int(time.time() * 1000)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def slash_command_body(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command: form-encode them (`form_body`) for HTTP, or send the dict
    itself as a Socket Mode ``slash_commands`` payload (Slack keeps every value a string)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "arena",
        "user_id": user_id,
        "user_name": "tester",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    message_ts: str,
    response_url: str,
    block_id: str = "actions",
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The interactive payload of a button click on the message ``message_ts`` (pass the stored
    ``message`` from `FakeSlack.messages` for full realism; a message in a thread puts its thread in the
    container)."""
    container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                 "is_ephemeral": False}
    if message is not None and message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "arena"},
        "message": dict(message) if message is not None else bot_message({}, message_ts),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def form_body(fields: Mapping[str, str]) -> bytes:
    """Form-encode fields the way Slack posts slash commands."""
    return urlencode(fields).encode()


def interactive_body(payload: Mapping[str, Any]) -> bytes:
    """Form-encode an interactive payload the way Slack posts it: ``payload=<json>``."""
    return form_body({"payload": json.dumps(payload)})


def bot_message(args: Mapping[str, Any], ts: str) -> dict[str, Any]:
    """A message the bot posted, as chat.postMessage returns it and block_actions carries it."""
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": args.get("text", ""),
        "ts": ts,
    }
    for optional in ("blocks", "attachments", "thread_ts", "metadata"):
        if args.get(optional):
            message[optional] = args[optional]
    return message


def hello_message(num_connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": "fake-applink", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    }


def accepts_response_payload(type_: EnvelopeType, payload: Mapping[str, Any]) -> bool:
    if type_ == "slash_commands":
        return True
    return type_ == "interactive" and payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS
