"""Button ids: every choice survives the trip through a button, and nothing else is taken for one of ours."""

from __future__ import annotations

import re
import uuid

import pytest

from adapters import ids
from bot.domain import Choice

# Discord refuses a custom_id over 100 characters; Slack a button value over 2,000 and an action_id over 255.
DISCORD_CUSTOM_ID_LIMIT = 100


@pytest.mark.parametrize("choice", list(Choice))
def test_every_choice_round_trips(choice: Choice) -> None:
    comparison_id = uuid.uuid4().hex
    packed = ids.vote_id(comparison_id, choice)
    assert ids.parse_vote_id(packed) == (comparison_id, choice)
    assert ids.choice_from_code(ids.CODES[choice]) is choice


def test_codes_are_distinct_and_cover_every_choice() -> None:
    assert set(ids.CODES) == set(Choice)
    assert len(set(ids.CODES.values())) == len(Choice)


@pytest.mark.parametrize("choice", list(Choice))
def test_the_longest_id_fits_a_discord_custom_id(choice: Choice) -> None:
    packed = ids.vote_id("f" * 32, choice)
    assert len(packed) <= DISCORD_CUSTOM_ID_LIMIT
    assert ids.parse_vote_id(packed) == ("f" * 32, choice)


def test_the_pattern_matches_exactly_what_vote_id_writes() -> None:
    """Discord's DynamicItem template and the parser share VOTE_PATTERN: it must accept our ids whole."""
    pattern = re.compile(ids.VOTE_PATTERN)
    for choice in Choice:
        match = pattern.fullmatch(ids.vote_id("0a1b", choice))
        assert match is not None and match["id"] == "0a1b" and match["choice"] == ids.CODES[choice]


@pytest.mark.parametrize("value", [
    "",
    "cmp::vote:a",                       # no comparison id
    "cmp:abc:vote:",                     # no choice
    "cmp:abc:vote:both_bad",             # the enum value, not the button code
    "cmp:abc:vote:A",                    # codes are lower case
    "cmp:ABC:vote:a",                    # ids are lower-case hex
    "cmp:xyz:vote:a",                    # not hex
    "cmp:abc:vote:a ",                   # trailing space
    " cmp:abc:vote:a",                   # leading space
    "cmp:abc:vote:a\n",                  # trailing newline ($ would accept it; fullmatch must not)
    "cmp:abc:vote:a:extra",              # trailing field
    "cmp:abc:vote:ab",                   # two codes run together
    "cmp:abc:regenerate",                # another action
    "poll:abc:vote:a",                   # another bot's namespace
    "x" + "cmp:abc:vote:a",
    "cmp:" + "a" * 33 + ":vote:a",      # comparison id over 32 hex digits
    "cmp:" + "a" * 200 + ":vote:a",     # oversized
    "cmp:abc/../def:vote:a",
    "cmp:abc:vote:tie\x00",
])
def test_foreign_and_malformed_ids_are_not_ours(value: str) -> None:
    assert ids.parse_vote_id(value) is None

