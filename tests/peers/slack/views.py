"""Modals and threads, as Slack has them:

- ``views.open`` takes a click's ``trigger_id`` (once, within 3 seconds of the click) and a modal view checked
  against Block Kit's limits; the peer keeps the open view, and `view_submission_payload` builds what Slack sends
  when the member submits it (``view.state.values`` by block and action id, ``private_metadata`` as the app set it);
- ``chat.postMessage`` with ``thread_ts`` replies in a thread: the parent must exist in that channel and be a
  top-level message (a reply's ts is refused), and it then carries ``thread_ts``, ``reply_count`` and
  ``latest_reply`` as Slack's own messages do."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Mapping
from typing import Any

from tests.peers.slack.payloads import (
    APP_ID,
    DEFAULT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    new_trigger_id,
)

TRIGGER_LIFETIME_S = 3.0
_view_numbers = itertools.count(1)


class ViewError(Exception):
    """A Web API error (``{"ok": false, "error": ...}``) from a view or thread check."""


def trigger_age(trigger_id: str) -> float | None:
    """Seconds since the click that made ``trigger_id`` (the peer's trigger ids start with the click's time in
    milliseconds, see payloads.new_trigger_id), or None for one that is not the peer's."""
    first, _, _ = trigger_id.partition(".")
    if not first.isdigit():
        return None
    return time.time() - int(first) / 1000


def check_view(view: Mapping[str, Any]) -> None:
    """Block Kit's modal limits: type modal; title, submit and close plain text of at most 24 characters; at most
    100 blocks; callback_id at most 255 and private_metadata at most 3,000 characters; each input block labelled
    (at most 2,000) with an element that has an action_id."""
    if view.get("type") != "modal":
        raise ViewError("invalid_arguments")
    for key, required in (("title", True), ("submit", False), ("close", False)):
        text = view.get(key)
        if text is None and not required:
            continue
        plain = isinstance(text, Mapping) and text.get("type") == "plain_text"
        if not plain or not 1 <= len(text.get("text", "")) <= 24:
            raise ViewError("invalid_arguments")
    blocks = view.get("blocks") or []
    if not 1 <= len(blocks) <= 100 or len(view.get("callback_id", "")) > 255:
        raise ViewError("invalid_arguments")
    if len(view.get("private_metadata", "")) > 3000:
        raise ViewError("invalid_arguments")
    for block in blocks:
        if block.get("type") != "input":
            continue
        label = (block.get("label") or {}).get("text", "")
        if not 1 <= len(label) <= 2000 or not (block.get("element") or {}).get("action_id"):
            raise ViewError("invalid_arguments")
        if int((block.get("element") or {}).get("max_length", 3000)) > 3000:
            raise ViewError("invalid_arguments")


def open_view(views: dict[str, dict[str, Any]], used_triggers: set[str], args: Mapping[str, Any]) -> dict[str, Any]:
    """``views.open``: the view as Slack returns it, kept under its id."""
    trigger_id = str(args.get("trigger_id") or "")
    age = trigger_age(trigger_id)
    if age is None or trigger_id in used_triggers:
        raise ViewError("invalid_trigger_id")
    if age > TRIGGER_LIFETIME_S:
        raise ViewError("expired_trigger_id")
    view = args.get("view")
    if not isinstance(view, Mapping):
        raise ViewError("invalid_arguments")
    check_view(view)
    used_triggers.add(trigger_id)
    view_id = f"V{next(_view_numbers):010d}"
    opened = {**view, "id": view_id, "team_id": TEAM_ID, "app_id": APP_ID, "hash": secrets.token_hex(8),
              "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", ""),
              "state": {"values": {}}}
    views[view_id] = opened
    return {"view": opened}


def view_submission_payload(view: Mapping[str, Any], values: Mapping[str, str], *,
                            user_id: str = DEFAULT_USER_ID, team_id: str = TEAM_ID) -> dict[str, Any]:
    """What Slack sends when the member submits ``view`` (as views.open returned it) having typed ``values`` (by
    input action_id): every input block's value under its block_id and action_id."""
    state: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        typed = values.get(element["action_id"], "")
        # Slack's client sends neither an empty required input nor one over max_length.
        if (not typed and not block.get("optional")) or len(typed) > int(element.get("max_length", 3000)):
            raise ViewError("invalid_value")
        state[block["block_id"]] = {element["action_id"]: {"type": element["type"], "value": typed}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def check_thread(messages: Mapping[tuple[str, str], dict[str, Any]], channel: str, thread_ts: str) -> None:
    parent = messages.get((channel, thread_ts))
    if parent is None:
        raise ViewError("thread_not_found")
    if parent.get("thread_ts", thread_ts) != thread_ts:
        raise ViewError("invalid_thread_ts")  # a reply's ts: Slack wants the parent's


def record_reply(messages: dict[tuple[str, str], dict[str, Any]], channel: str, thread_ts: str, ts: str) -> None:
    parent = messages[(channel, thread_ts)]
    parent["thread_ts"] = thread_ts
    parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
    parent["latest_reply"] = ts
