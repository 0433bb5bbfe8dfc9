"""Prompt checks and templates: what reaches a model is clean text, wrapped the way the model expects."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InvalidPromptError

MAX_PROMPT_CHARS = 4000
# A reason for a vote is a sentence or a paragraph (Discord's modal text box holds 4000 at most).
MAX_REASON_CHARS = 1000
# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) but newlines and tabs, which
# are content (the seed lab's dialogue prompt is four lines): one regular expression, not a lookup per character.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible characters that alone do not make a prompt: zero-width spaces/joiners, BOM, direction marks.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202a", "\u202b",
              "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def clean_prompt(raw: str, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Return the prompt to store and send, or raise InvalidPromptError saying what is wrong."""
    if len(raw) > max_chars * 4:
        raise InvalidPromptError(f"The prompt is too long: {len(raw):,} characters, the limit is {max_chars:,}.")
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates cannot be stored or sent as UTF-8; replace them rather than fail later.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = drop_controls(text).strip()
    if not text:
        raise InvalidPromptError("The prompt is empty: write something for both models to answer.")
    if all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) in ("Cf", "Zs") for ch in text):
        raise InvalidPromptError("The prompt has no visible text: write something for both models to answer.")
    if len(text) > max_chars:
        raise InvalidPromptError(f"The prompt is too long: {len(text):,} characters, the limit is {max_chars:,}.")
    return text


def clean_reason(raw: str) -> str:
    """The reason for a vote to store, or raise InvalidPromptError saying what is wrong."""
    text = drop_controls(raw.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8", "replace").decode()).strip()
    if not text:
        raise InvalidPromptError("The reason is empty: write what made you choose.")
    if len(text) > MAX_REASON_CHARS:
        raise InvalidPromptError(f"The reason is too long: {len(text):,} characters, the limit is "
                                 f"{MAX_REASON_CHARS:,}.")
    return text


def drop_controls(text: str) -> str:
    """``text`` without control characters, newlines and tabs kept."""
    return _CONTROLS.sub("", text)


def apply_template(template: str, prompt: str) -> str:
    """Wrap ``prompt`` for a completion endpoint. ``completion`` and ``chat`` leave it as it is
    (chat models get their own template from the provider); anything else must hold ``{prompt}``."""
    if template in ("completion", "chat"):
        return prompt
    return template.replace("{prompt}", prompt)
