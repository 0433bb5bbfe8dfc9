"""Messages the bot sends through interactions: created, edited and given attachments as Discord does,
and refused when over Discord's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.peers.discord.payloads import APPLICATION_COMMAND, LOADING, now_iso
from tests.peers.discord.state import DiscordState, DispatchedInteraction, UploadedFile


class DiscordError(Exception):
    """Raised by handlers to answer with a Discord error body."""

    def __init__(self, status: int, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def check_limits(payload: Mapping[str, Any]) -> None:
    """Reject what Discord rejects: content over 2,000 characters, an embed description over 4,096,
    more than 10 embeds or 6,000 characters across them, more than 5 rows of components."""
    problems = []
    if len(payload.get("content") or "") > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        if len(embed.get("description") or "") > 4096:
            problems.append("embeds.description: Must be 4096 or fewer in length.")
        total += sum(len(embed.get(key) or "") for key in ("title", "description"))
        total += len((embed.get("footer") or {}).get("text") or "")
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields") or [])
    if total > 6000:
        problems.append("embeds: Embed size exceeds maximum size of 6000")
    if len(payload.get("components") or []) > 5:
        problems.append("components: Must be 5 or fewer in length.")
    if problems:
        raise DiscordError(400, "Invalid Form Body: " + "; ".join(problems), 50035)


def new_message(
    state: DiscordState,
    interaction: DispatchedInteraction,
    payload: Mapping[str, Any],
    files: tuple[UploadedFile, ...],
    flags: int,
) -> dict[str, Any]:
    is_command_reply = interaction.type == APPLICATION_COMMAND and interaction.original_id is None
    message_type = 20 if is_command_reply else 0  # CHAT_INPUT_COMMAND, else DEFAULT
    message = {
        **state.message_skeleton(interaction.channel_id, message_type),
        "content": payload.get("content") or "",
        "embeds": payload.get("embeds") or [],
        "components": payload.get("components") or [],
        "attachments": _attachments(state, payload, files, []),
        "flags": flags,
    }
    state.messages[message["id"]] = message
    return message


def edit_message(
    state: DiscordState, message: dict[str, Any], payload: Mapping[str, Any], files: tuple[UploadedFile, ...]
) -> dict[str, Any]:
    for key, empty in (("content", ""), ("embeds", []), ("components", [])):
        if key in payload:
            message[key] = payload[key] or empty
    if "attachments" in payload or files:
        message["attachments"] = _attachments(state, payload, files, message["attachments"])
    message["flags"] &= ~LOADING
    message["edited_timestamp"] = now_iso()
    return message


def _attachments(
    state: DiscordState, payload: Mapping[str, Any], files: tuple[UploadedFile, ...], previous: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Resolve ``payload.attachments``: ids of kept attachments, or ``files[n]`` indexes for uploads."""
    requested = payload.get("attachments")
    if requested is None:
        requested = [{"id": index} for index in range(len(files))]
    kept = {attachment["id"]: attachment for attachment in previous}
    result = []
    for entry in requested:
        entry_id = str(entry["id"])
        if entry_id in kept:
            result.append(kept[entry_id])
        elif entry_id.isdigit() and int(entry_id) < len(files):
            result.append(_store_attachment(state, files[int(entry_id)], entry))
    return result


def _store_attachment(state: DiscordState, upload: UploadedFile, entry: Mapping[str, Any]) -> dict[str, Any]:
    attachment_id = state.snowflake()
    filename = entry.get("filename") or upload.filename
    url = f"{state.base_url}/attachments/{attachment_id}/{filename}"
    state.attachment_data[attachment_id] = upload.data
    return {
        "id": attachment_id,
        "filename": filename,
        "description": entry.get("description"),
        "content_type": upload.content_type,
        "size": len(upload.data),
        "url": url,
        "proxy_url": url,
    }
