"""The preference rows of ``bot/export.py`` (DPO ``{prompt, chosen, rejected}``, KTO ``{prompt, completion, label}``)
checked, counted and turned into the ``datasets.Dataset`` TRL's trainers take.

Counting needs no ``datasets``: the parent process refuses too few pairs before it starts a worker."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.errors import NotEnoughPairsError, PreferenceDataError

if TYPE_CHECKING:
    from datasets import Dataset

METHODS = ("dpo", "kto")
MIN_PAIRS = 20
COLUMNS = {"dpo": ("prompt", "chosen", "rejected"), "kto": ("prompt", "completion", "label")}
# What one example is called in messages, per method.
UNITS = {"dpo": "preference pairs", "kto": "judged replies"}

Row = dict[str, Any]


def read_rows(path: Path) -> list[Row]:
    """The JSON lines of an export file (blank lines skipped)."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PreferenceDataError(f"Line {number} of {path.name} is not JSON.") from exc
            if not isinstance(row, dict):
                raise PreferenceDataError(f"Line {number} of {path.name} is not a JSON object.")
            rows.append(row)
    return rows


def write_rows(rows: Iterable[Row], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _text_or_messages(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in value)


def usable_rows(rows: Sequence[Row], method: str) -> list[Row]:
    """The rows that can train: every column present and typed, no empty reply. A malformed row is an error
    (it means the file is not one of our exports), an empty reply is skipped."""
    if method not in METHODS:
        raise PreferenceDataError(f"Unknown training method {method[:20]!r}: use {' or '.join(METHODS)}.")
    columns = COLUMNS[method]
    kept = []
    for number, row in enumerate(rows, 1):
        missing = [c for c in columns if c not in row]
        if missing:
            raise PreferenceDataError(f"Row {number} has no {missing[0]!r}: is this a {method.upper()} export?")
        texts = columns[:3] if method == "dpo" else columns[:2]
        if not all(_text_or_messages(row[c]) for c in texts) or (method == "kto" and
                                                                   not isinstance(row["label"], bool)):
            raise PreferenceDataError(f"Row {number} has a column of the wrong type.")
        if all(row[c] for c in texts[1:]):
            kept.append({c: row[c] for c in columns})
    return kept


def check_enough(rows: Sequence[Row], method: str, min_pairs: int = MIN_PAIRS) -> list[Row]:
    """``usable_rows``, or ``NotEnoughPairsError`` when fewer than ``min_pairs`` remain. KTO also needs both a
    liked and a disliked reply: with one label only, its loss has nothing to contrast."""
    kept = usable_rows(rows, method)
    if len(kept) < min_pairs:
        raise NotEnoughPairsError(len(kept), min_pairs, UNITS[method])
    if method == "kto" and len({row["label"] for row in kept}) < 2:
        raise PreferenceDataError("KTO needs both liked and disliked replies; these votes hold only one kind.")
    return kept


def _as_messages(value: str | list[dict[str, str]], role: str) -> list[dict[str, str]]:
    return value if isinstance(value, list) else [{"role": role, "content": value}]


def conversational(row: Row, method: str) -> Row:
    """A row in TRL's conversational form: the prompt a user turn, replies assistant turns. The tokenizer's chat
    template then frames them exactly as a chat model was prompted in the arena."""
    replies = ("chosen", "rejected") if method == "dpo" else ("completion",)
    converted = dict(row)
    converted["prompt"] = _as_messages(row["prompt"], "user")
    for column in replies:
        converted[column] = _as_messages(row[column], "assistant")
    return converted


def to_dataset(rows: Sequence[Row], method: str, *, chat: bool, min_pairs: int = MIN_PAIRS) -> Dataset:
    """The ``datasets.Dataset`` for TRL's ``DPOTrainer`` / ``KTOTrainer``. ``chat``: the model was prompted through
    its chat template (the arena's ``template = "chat"``), so the rows become conversations."""
    from datasets import Dataset

    kept = check_enough(rows, method, min_pairs)
    if chat:
        kept = [conversational(row, method) for row in kept]
    return Dataset.from_list(kept)
