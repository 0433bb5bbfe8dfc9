"""Style features of a reply as LMArena defines them for style control: its length in tokens and its markdown
(headers h1..h6, ordered and unordered list items, bold spans), and their lmsys ``conv_metadata`` form.

Definitions, those of LMArena's published battle data (``conv_metadata``):

- markdown is counted after removing fenced code blocks, so a ``# comment`` inside code is not a header;
- a header is ``#`` to ``######`` at the start of a line followed by white space (``#1`` or ``#tag`` is not one);
- a list item is a line that starts, after optional indentation, with ``-``, ``*`` or ``+`` (unordered) or
  with digits and a dot (ordered), followed by white space;
- a bold span is ``**text**`` or ``__text__`` on one line, with no ``*`` (or ``_``) inside.

Tokens. We store each reply's token count as the model produced it (``Reply.tokens``, one per generated token) and
use that; LMArena counts with one tokenizer for all models, we count with each model's own, which for a base and its
fine-tune is the same tokenizer. Text without a count (imported battles, a backend that does not report tokens)
gets ``estimate_tokens``: one token per four characters, rounded up, the usual rule of thumb for English with
GPT-style tokenizers. Style control only uses the ratio ``(a - b) / (a + b + 1)``, which a proportional estimate
leaves almost unchanged. Tokens count the whole reply, code included, as LMArena's do.

Unlike LMArena's script, a fence is removed even when the code inside holds a backtick, and an unclosed fence (a
reply cut off by the token limit) hides everything after it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4
HEADER_LEVELS = ("h1", "h2", "h3", "h4", "h5", "h6")
LIST_KINDS = ("ordered", "unordered")
BOLD_MARKS = ("**", "__")
SIDES = ("a", "b")

# A fence of three or more backticks or tildes opens a block that the same fence closes (or the end of the text).
_FENCED_CODE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_HEADERS = tuple(re.compile(rf"^#{{{level}}}\s", re.MULTILINE) for level in range(1, 7))
_ORDERED = re.compile(r"^[ \t]*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^[ \t]*[-*+]\s", re.MULTILINE)
_BOLD = {"**": re.compile(r"\*\*[^*\n]+\*\*"), "__": re.compile(r"__[^_\n]+__")}


@dataclass(frozen=True)
class StyleFeatures:
    """The style of one reply: ``tokens`` and markdown counts (``headers`` per level h1..h6, list items
    ``ordered`` and ``unordered``, bold spans ``bold_asterisks`` (``**``) and ``bold_underscores`` (``__``))."""

    tokens: int = 0
    headers: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
    ordered: int = 0
    unordered: int = 0
    bold_asterisks: int = 0
    bold_underscores: int = 0

    @property
    def header_count(self) -> int:
        return sum(self.headers)

    @property
    def list_count(self) -> int:
        return self.ordered + self.unordered

    @property
    def bold_count(self) -> int:
        return self.bold_asterisks + self.bold_underscores

    def totals(self) -> tuple[int, int, int, int]:
        """The four quantities style control compares: tokens, headers, list items, bold spans."""
        return (self.tokens, self.header_count, self.list_count, self.bold_count)


def estimate_tokens(text: str) -> int:
    """A token count for text the model did not count for us: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def strip_code_blocks(text: str) -> str:
    """The text without its fenced code blocks (fences included)."""
    return _FENCED_CODE.sub("", text)


def style_features(text: str, tokens: int | None = None) -> StyleFeatures:
    """The style of a reply; ``tokens`` is the model's own count, estimated from the text when ``None`` or 0."""
    if tokens is not None and tokens < 0:
        raise ValueError(f"a token count cannot be negative: {tokens}")
    prose = strip_code_blocks(text)
    headers = tuple(len(pattern.findall(prose)) for pattern in _HEADERS)
    return StyleFeatures(
        tokens=tokens if tokens else estimate_tokens(text),
        headers=(headers[0], headers[1], headers[2], headers[3], headers[4], headers[5]),
        ordered=len(_ORDERED.findall(prose)),
        unordered=len(_UNORDERED.findall(prose)),
        bold_asterisks=len(_BOLD["**"].findall(prose)),
        bold_underscores=len(_BOLD["__"].findall(prose)),
    )


def conv_metadata(a: StyleFeatures, b: StyleFeatures) -> dict[str, Any]:
    """Both replies' style in lmsys ``conv_metadata`` form, as LMArena's public battles carry it."""
    metadata: dict[str, Any] = {}
    for side, style in zip(SIDES, (a, b), strict=True):
        metadata[f"sum_assistant_{side}_tokens"] = style.tokens
        metadata[f"header_count_{side}"] = dict(zip(HEADER_LEVELS, style.headers, strict=True))
        metadata[f"list_count_{side}"] = {"ordered": style.ordered, "unordered": style.unordered}
        metadata[f"bold_count_{side}"] = {"**": style.bold_asterisks, "__": style.bold_underscores}
    return metadata


def parse_conv_metadata(metadata: Mapping[str, Any]) -> tuple[StyleFeatures, StyleFeatures]:
    """The two replies' style from lmsys ``conv_metadata``; a missing count is 0, a malformed one a ValueError.

    A count given as a plain number instead of the per-kind mapping is taken as the total of the first kind.
    """
    return _parse_side(metadata, "a"), _parse_side(metadata, "b")


def _parse_side(metadata: Mapping[str, Any], side: str) -> StyleFeatures:
    headers = _kinds(metadata, f"header_count_{side}", HEADER_LEVELS)
    lists = _kinds(metadata, f"list_count_{side}", LIST_KINDS)
    bold = _kinds(metadata, f"bold_count_{side}", BOLD_MARKS)
    return StyleFeatures(
        tokens=_count(metadata.get(f"sum_assistant_{side}_tokens", 0), f"sum_assistant_{side}_tokens"),
        headers=(headers[0], headers[1], headers[2], headers[3], headers[4], headers[5]),
        ordered=lists[0],
        unordered=lists[1],
        bold_asterisks=bold[0],
        bold_underscores=bold[1],
    )


def _kinds(metadata: Mapping[str, Any], key: str, kinds: tuple[str, ...]) -> tuple[int, ...]:
    value = metadata.get(key)
    if value is None:
        return (0,) * len(kinds)
    if isinstance(value, Mapping):
        unknown = set(value) - set(kinds)
        if unknown:
            raise ValueError(f"{key} has unknown kinds {sorted(unknown)}; expected {list(kinds)}")
        return tuple(_count(value.get(kind, 0), f"{key}.{kind}") for kind in kinds)
    return (_count(value, key),) + (0,) * (len(kinds) - 1)


def _count(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise ValueError(f"{key} must be a count (a non-negative whole number), got {value!r}")
    return int(value)
