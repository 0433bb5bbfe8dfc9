"""Modals on the fake Discord: check a MODAL callback (type 9) as Discord validates it, and submit the form as a
member would (a MODAL_SUBMIT interaction, type 5). Kept apart from ``server`` so that other modals (the follow-up
box) add their own checks beside this one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.peers.discord.payloads import MODAL_SUBMIT
from tests.peers.discord.server import FakeDiscord
from tests.peers.discord.state import DispatchedInteraction, RecordedRequest

MODAL = 9  # the interaction callback type that opens a modal
ACTION_ROW, TEXT_INPUT = 1, 4


class ModalError(ValueError):
    """A modal Discord would reject (400 Invalid Form Body), or a value its form would not let a member send."""


def text_inputs(modal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The text inputs of a MODAL callback's ``data``, after checking what Discord checks: a title of 1-45
    characters, a custom_id of 1-100, 1-5 action rows of one text input each, labels of 1-45 characters,
    lengths between 0 and 4,000."""
    title, custom_id, rows = modal.get("title") or "", modal.get("custom_id") or "", modal.get("components") or []
    if not 1 <= len(title) <= 45 or not 1 <= len(custom_id) <= 100 or not 1 <= len(rows) <= 5:
        raise ModalError(f"invalid modal: title {title!r}, custom_id {custom_id!r}, {len(rows)} row(s)")
    inputs = []
    for row in rows:
        [field] = row.get("components") or [{}]
        if row.get("type") != ACTION_ROW or field.get("type") != TEXT_INPUT:
            raise ModalError("a modal row must be an action row holding one text input")
        if not 1 <= len(field.get("label") or "") <= 45 or not field.get("custom_id"):
            raise ModalError(f"invalid text input {field!r}")
        if not 0 <= field.get("min_length", 0) <= field.get("max_length", 4000) <= 4000:
            raise ModalError(f"invalid text input lengths {field!r}")
        inputs.append(field)
    return inputs


async def submit_modal(fake: FakeDiscord, callback: RecordedRequest, values: Mapping[str, str], *,
                       user: dict[str, Any] | None = None, message: dict[str, Any] | None = None,
                       permissions: int = 0) -> DispatchedInteraction:
    """Fill in and submit the modal a bot opened with ``callback`` (its type-9 interaction callback), as Discord
    sends it: the modal's custom_id and each text input's custom_id and value. A value the form would refuse
    (a required one empty, one too long or too short) raises ModalError: Discord's client never sends it."""
    if (callback.json or {}).get("type") != MODAL:
        raise ModalError(f"the callback is not a modal: {callback.json!r}")
    modal = callback.json["data"]
    rows = []
    for field in text_inputs(modal):
        value = values.get(field["custom_id"], "")
        if field.get("required", True) and not value:
            raise ModalError(f"{field['custom_id']} is required")
        if value and not field.get("min_length", 0) <= len(value) <= field.get("max_length", 4000):
            raise ModalError(f"{field['custom_id']} must be {field.get('min_length', 0)}-"
                             f"{field.get('max_length', 4000)} characters")
        rows.append({"type": ACTION_ROW, "components": [
            {"type": TEXT_INPUT, "custom_id": field["custom_id"], "value": value}]})
    data = {"custom_id": modal["custom_id"], "components": rows}
    return await fake._dispatch_interaction(MODAL_SUBMIT, data, user, permissions, "en-US", message=message)
