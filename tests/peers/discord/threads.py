"""Modals, threads and the bot's own channel messages, as Discord has them:

- an interaction answered with a MODAL (callback type 9) holds the modal, checked against Discord's limits, until
  the member submits it: a MODAL_SUBMIT interaction (type 5) carrying each text input's value and, for a modal
  opened from a button, the message the button is on;
- ``POST /channels/{channel}/messages/{message}/threads`` starts a public thread on a message (the thread's id is
  the message's; a second start answers 160004);
- ``POST /channels/{channel}/messages`` and ``PATCH /channels/{channel}/messages/{message}`` send and edit the bot's
  messages in a channel or thread.

Route handlers take the shared state, the path's parts and the JSON body; rest.py records and answers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.peers.discord.messages import DiscordError, check_limits, edit_message
from tests.peers.discord.payloads import channel, now_iso
from tests.peers.discord.state import DiscordState, DispatchedInteraction

MODAL = 9
TEXT_INPUT, ACTION_ROW, LABEL = 4, 1, 18
THREAD_EXISTS = 160004
PUBLIC_THREAD = 11


def check_modal(data: Mapping[str, Any]) -> None:
    """Reject a modal Discord rejects: a title of 1-45 characters, a custom_id, 1-5 rows each holding one text
    input (in an action row, or in a label) with its own custom_id, a label of at most 45 characters, a style of
    1 or 2 and a max_length of at most 4,000."""
    problems = []
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("title: Must be between 1 and 45 in length.")
    if not 1 <= len(data.get("custom_id") or "") <= 100:
        problems.append("custom_id: Must be between 1 and 100 in length.")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        problems.append("components: Must be between 1 and 5 in length.")
    for row in rows:
        inputs = _inputs_of(row)
        label = row.get("label") if row.get("type") == LABEL else (inputs[0].get("label") if inputs else None)
        if len(inputs) != 1 or inputs[0].get("type") != TEXT_INPUT or not inputs[0].get("custom_id"):
            problems.append("components: each row must hold one text input with a custom_id.")
            continue
        if not 1 <= len(label or "") <= 45:
            problems.append("components.label: Must be between 1 and 45 in length.")
        if inputs[0].get("style", 1) not in (1, 2) and row.get("type") == ACTION_ROW:
            problems.append("components.style: Value must be one of (1, 2).")
        if int(inputs[0].get("max_length", 4000)) > 4000:
            problems.append("components.max_length: Must be 4000 or less.")
    if problems:
        raise DiscordError(400, "Invalid Form Body: " + "; ".join(problems), 50035)


def _inputs_of(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    if row.get("type") == LABEL:
        return [row["component"]] if row.get("component") else []
    return list(row.get("components") or [])


def open_modal(interaction: DispatchedInteraction, data: Mapping[str, Any]) -> None:
    """Callback type 9: the modal is shown to the member who clicked; nothing is posted."""
    check_modal(data)
    interaction.modal = dict(data)


def submission(interaction: DispatchedInteraction, values: Mapping[str, str]) -> dict[str, Any]:
    """The ``data`` of the MODAL_SUBMIT for the modal ``interaction`` opened, with ``values`` by input custom_id
    (every input of the modal must get one, as Discord's client sends them all)."""
    modal = interaction.modal
    if modal is None:
        raise AssertionError("this interaction opened no modal")
    rows = []
    for row in modal["components"]:
        [field] = _inputs_of(row)
        value = values[field["custom_id"]]
        if len(value) > int(field.get("max_length", 4000)):
            raise AssertionError(f"Discord's client lets no more than {field.get('max_length')} characters through")
        answered = {"type": TEXT_INPUT, "custom_id": field["custom_id"], "value": value}
        rows.append({"type": LABEL, "component": answered} if row.get("type") == LABEL
                    else {"type": ACTION_ROW, "components": [answered]})
    return {"custom_id": modal["custom_id"], "components": rows}


def thread_of(state: DiscordState, channel_id: str) -> dict[str, Any] | None:
    return state.threads.get(channel_id)


def start_thread(state: DiscordState, parts: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
    channel_id, message_id = parts["channel"], parts["message"]
    message = state.messages.get(message_id)
    if message is None or message["channel_id"] != channel_id:
        raise DiscordError(404, "Unknown Message", 10008)
    if channel_id in state.threads:
        raise DiscordError(400, "Cannot execute action on this channel type", 50024)  # no thread in a thread
    if message.get("thread"):
        raise DiscordError(400, "A thread has already been created for this message", THREAD_EXISTS)
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise DiscordError(400, "Invalid Form Body: name: Must be between 1 and 100 in length.", 50035)
    thread = {
        "id": message_id, "type": PUBLIC_THREAD, "guild_id": state.guild_id, "parent_id": channel_id,
        "name": name, "owner_id": state.application_id, "last_message_id": None, "message_count": 0,
        "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": int(body.get("auto_archive_duration", 4320)),
                            "archive_timestamp": now_iso(), "locked": False},
    }
    state.threads[message_id] = thread
    message["thread"] = thread
    return thread


def send_message(state: DiscordState, parts: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
    channel_id = parts["channel"]
    if channel_id not in (state.channel_id, state.other_channel_id) and channel_id not in state.threads:
        raise DiscordError(404, "Unknown Channel", 10003)
    check_limits(body)
    if not (body.get("content") or body.get("embeds") or body.get("components")):
        raise DiscordError(400, "Cannot send an empty message", 50006)
    skeleton = state.message_skeleton(channel_id, 0)
    for key in ("webhook_id", "application_id"):  # a bot's own message, not an interaction's
        skeleton.pop(key)
    message = {**skeleton, "content": body.get("content") or "", "embeds": body.get("embeds") or [],
               "components": body.get("components") or [], "attachments": [], "flags": 0}
    state.messages[message["id"]] = message
    return message


def edit_channel_message(state: DiscordState, parts: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
    message = state.messages.get(parts["message"])
    if message is None or message["channel_id"] != parts["channel"]:
        raise DiscordError(404, "Unknown Message", 10008)
    if message["author"]["id"] != state.bot_user["id"]:
        raise DiscordError(403, "Cannot edit a message authored by another user", 50005)
    check_limits(body)
    return edit_message(state, message, body, ())


def get_channel(state: DiscordState, parts: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
    found = state.threads.get(parts["channel"])
    if found is not None:
        return found
    if parts["channel"] == state.channel_id:
        return channel(state.channel_id, state.guild_id)
    raise DiscordError(404, "Unknown Channel", 10003)


# (method, path under /api/v10, handler, status on success)
ROUTES = (
    ("POST", "/channels/{channel}/messages/{message}/threads", start_thread, 201),
    ("POST", "/channels/{channel}/messages", send_message, 200),
    ("PATCH", "/channels/{channel}/messages/{message}", edit_channel_message, 200),
    ("GET", "/channels/{channel}", get_channel, 200),
)
