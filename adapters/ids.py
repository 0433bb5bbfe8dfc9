"""Ids packed into chat buttons: ``cmp:{comparison id}:vote:{a|b|tie|bad}``, ``cmp:{id}:follow`` (open the
follow-up box), ``cmp:{id}:regen`` (regenerate); the follow-up box itself is ``cmp:{id}:followup``. All well
under Discord's 100 characters."""

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
