"""Modals on the fake Slack: ``views.open`` checked as Slack checks it (a fresh trigger_id, a modal within
Block Kit's limits), and the ``view_submission`` payload a member's *Submit* sends. Kept apart from ``web_api``
so that other modals (the follow-up box) add their own checks beside this one."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from tests.peers.slack.payloads import APP_ID, DEFAULT_USER_ID, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN

TRIGGER_ID = re.compile(r"\d+\.\d+\.[0-9a-f]+")


class ViewError(ValueError):
    """What Slack answers ``{"ok": false, "error": ...}`` for; ``error`` is Slack's code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def opened_view(args: Mapping[str, Any]) -> dict[str, Any]:
    """``views.open``'s answer for these arguments: the view as Slack stores it, with its id and an empty state,
    after Slack's checks: a trigger_id, a modal with a plain-text title of at most 24 characters, at most 100
    blocks, a callback_id of at most 255 and private_metadata of at most 3,000 characters, input blocks with a
    label and an element."""
    if not TRIGGER_ID.fullmatch(str(args.get("trigger_id") or "")):
        raise ViewError("invalid_trigger_id")
    view = args.get("view")
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise ViewError("invalid_arguments")
    title = (view.get("title") or {}).get("text", "")
    blocks = view.get("blocks") or []
    if not 1 <= len(title) <= 24 or len(blocks) > 100 or len(view.get("callback_id") or "") > 255 \
            or len(view.get("private_metadata") or "") > 3000:
        raise ViewError("invalid_arguments")
    for block in blocks:
        if block.get("type") == "input" and not (block.get("label") and block.get("element")):
            raise ViewError("invalid_arguments")
    return {**view, "id": "V" + secrets.token_hex(5).upper(), "team_id": TEAM_ID, "app_id": APP_ID,
            "state": {"values": {}}, "hash": secrets.token_hex(8)}


def view_submission_payload(view: Mapping[str, Any], values: Mapping[str, str], *, user_id: str = DEFAULT_USER_ID,
                            team_id: str = TEAM_ID) -> dict[str, Any]:
    """The interactive payload of a *Submit* on ``view`` (as ``opened_view`` returned it), each input block's
    plain-text input holding ``values[block_id]``. A value its input would not let a member send (a required one
    empty, one over ``max_length``) raises ViewError: Slack's client never sends it."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element, value = block["element"], values.get(block["block_id"], "")
        if (not value and not block.get("optional")) or len(value) > element.get("max_length", 3000):
            raise ViewError("invalid_value")
        state[block["block_id"]] = {element["action_id"]: {"type": element["type"], "value": value}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
