"""Ids packed into chat buttons and text boxes, all well under Discord's 100 characters:
``cmp:{comparison id}:vote:{a|b|tie|bad}``, ``cmp:{id}:follow`` (open the follow-up box), ``cmp:{id}:regen``
(regenerate), the follow-up box itself ``cmp:{id}:followup``, ``cmp:{id}:why`` (the *Why?* button and its box),
``forget:confirm``."""

from __future__ import annotations

import re

from bot.domain import Choice

CODES = {Choice.A: "a", Choice.B: "b", Choice.TIE: "tie", Choice.BOTH_BAD: "bad"}
_BY_CODE = {code: choice for choice, code in CODES.items()}
VOTE_PATTERN = r"cmp:(?P<id>[0-9a-f]{1,32}):vote:(?P<choice>a|b|tie|bad)"
_VOTE_RE = re.compile(VOTE_PATTERN)
FOLLOW, REGENERATE, FOLLOW_UP_BOX = "follow", "regen", "followup"
ACTION_PATTERN = r"cmp:(?P<id>[0-9a-f]{1,32}):(?P<action>follow|regen|followup)"
_ACTION_RE = re.compile(ACTION_PATTERN)


def vote_id(comparison_id: str, choice: Choice) -> str:
    return f"cmp:{comparison_id}:vote:{CODES[choice]}"


def parse_vote_id(value: str) -> tuple[str, Choice] | None:
    """The comparison id and choice in a button id, or None for anything that is not ours."""
    match = _VOTE_RE.fullmatch(value)
    if match is None:
        return None
    return match["id"], _BY_CODE[match["choice"]]


WHY_PATTERN = r"cmp:(?P<id>[0-9a-f]{1,32}):why"
_WHY_RE = re.compile(WHY_PATTERN)
FORGET_CONFIRM = "forget:confirm"
REASON_FIELD = "reason"  # the text field in the *Why?* box


def why_id(comparison_id: str) -> str:
    return f"cmp:{comparison_id}:why"


def parse_why_id(value: str) -> str | None:
    """The comparison id in a *Why?* button's or box's id, or None for anything that is not ours."""
    match = _WHY_RE.fullmatch(value)
    return None if match is None else match["id"]


def choice_from_code(code: str) -> Choice:
    return _BY_CODE[code]


def action_id(comparison_id: str, action: str) -> str:
    """The id of a comparison's Follow up or Regenerate button, or of its follow-up box."""
    return f"cmp:{comparison_id}:{action}"


def parse_action_id(value: str, action: str) -> str | None:
    """The comparison id in an ``action`` id, or None for anything else."""
    match = _ACTION_RE.fullmatch(value)
    if match is None or match["action"] != action:
        return None
    return match["id"]
