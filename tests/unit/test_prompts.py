from __future__ import annotations

import unicodedata

import pytest

from bot.errors import InvalidPromptError
from bot.prompts import apply_template, clean_prompt, drop_controls
from bot.seed import SEED_PROMPTS


def test_seed_dialogue_keeps_its_lines() -> None:
    assert clean_prompt(SEED_PROMPTS[3]) == SEED_PROMPTS[3]
    assert SEED_PROMPTS[3].count("\n") == 4 and SEED_PROMPTS[3].endswith("Agent:")


def test_controls_are_removed_but_text_kept() -> None:
    assert clean_prompt("  hi\x00 there\x1b\r\nnext\t ") == "hi there\nnext"


def test_lone_surrogates_become_replacement_characters() -> None:
    assert clean_prompt("a\ud800b") == "a?b"


@pytest.mark.parametrize(("raw", "message"), [
    ("", "empty"), (" \n\t", "empty"), ("\x00\x07", "empty"),
    ("\u200b\u200e\u2067", "no visible text"), ("y" * 4001, "4,001 characters, the limit is 4,000"),
    ("z" * 50_000, "50,000 characters"),
])
def test_bad_prompts_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(InvalidPromptError, match=message):
        clean_prompt(raw)


def test_limit_is_configurable() -> None:
    assert clean_prompt("abc", max_chars=3) == "abc"
    with pytest.raises(InvalidPromptError):
        clean_prompt("abcd", max_chars=3)


def test_templates() -> None:
    assert apply_template("completion", "hi") == "hi"
    assert apply_template("chat", "hi") == "hi"
    assert apply_template("[INST]{prompt}[/INST]", "hi") == "[INST]hi[/INST]"


@pytest.mark.parametrize("limit", [100, 2000, 3000])
def test_truncate_keeps_within_limit_and_says_so(limit: int) -> None:
    from bot.display import truncate

    long = "x" * 10_000
    cut = truncate(long, limit)
    assert len(cut) <= limit and "more characters cut" in cut
    assert truncate("short", limit) == "short"


def test_drop_controls_drops_exactly_unicodes_control_characters_but_newline_and_tab() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    expected = "".join(ch for ch in every if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    assert drop_controls(every) == expected and len(every) - len(expected) == 63
