"""What the vote analysts ask for: slices of the battles, quality filters (each reporting what it
removed), bias checks, and arena-style ratings over whatever remains."""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.statistics.bradley_terry import BattleCount, Leaderboard

# Prompts that ask a model who it is make blind votes about the name, not the answer.
IDENTITY_PROMPT = re.compile(
    r"\b(?:who are you|who made you|what(?:['’]s| is) your name|which (?:model|llm|ai) are you|"
    r"what model are you)\b|\bare you (?:chat)?gpt|\bare you (?:llama|gemma|claude|mistral|smollm)", re.IGNORECASE)
# Very short names ("a", "gpt") would match ordinary words; only distinctive ones count.
MIN_NAME_CHARS = 5


@dataclass(frozen=True)
class BattleQuery:
    """A slice of the votes plus the quality filters to apply (all on by default but the cap)."""

    matchup: str | None = None
    platform: str | None = None
    server: str | None = None
    channel: str | None = None
    voter: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    drop_identity_leaks: bool = True
    drop_failed: bool = True
    daily_cap: int | None = None


@dataclass(frozen=True)
class FilterStep:
    name: str
    removed: int


@dataclass(frozen=True)
class BattleSet:
    """Grouped battles after slicing and filtering, with the votes each filter removed."""

    counts: tuple[BattleCount, ...]
    sliced: int
    steps: tuple[FilterStep, ...]

    @property
    def kept(self) -> int:
        return sum(c.count for c in self.counts)


@dataclass(frozen=True)
class BiasReport:
    a_side_win_rate: float | None
    decided: int
    tie_share: float | None
    both_bad_share: float | None
    voters: int
    median_votes_per_voter: float | None
    max_votes_per_voter: int


def identity_leak(prompt: str, replies: Iterable[str], model_names: Iterable[str]) -> bool:
    """True when the prompt asks for the model's identity, or a model's name shows in the prompt or a reply."""
    if IDENTITY_PROMPT.search(prompt):
        return True
    pattern = _names_pattern(tuple(model_names))
    return pattern is not None and any(pattern.search(text) for text in (prompt, *replies))


@functools.lru_cache(maxsize=256)
def _names_pattern(model_names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Each name as a whole word (``llama`` not in ``llamas``), case-insensitive: as configured, without
    its organisation (``meta-llama/``) and without a provider's prefix (``embedded:``)."""
    forms: set[str] = set()
    for name in model_names:
        bare = name.rsplit("/", 1)[-1]
        forms.update((name, bare, re.sub(r"^[a-z]+:", "", bare)))
    forms = {form for form in forms if len(form) >= MIN_NAME_CHARS}
    if not forms:
        return None
    words = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    return re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE)


def bias_report(counts: Sequence[BattleCount], votes_per_voter: Sequence[int]) -> BiasReport:
    """Position bias (how often side A wins a decided vote), tie shares and how concentrated voting is."""
    a = sum(c.count for c in counts if c.outcome == "model_a")
    b = sum(c.count for c in counts if c.outcome == "model_b")
    tie = sum(c.count for c in counts if c.outcome == "tie")
    bad = sum(c.count for c in counts if c.outcome == "tie (bothbad)")
    total = a + b + tie + bad
    return BiasReport(
        a_side_win_rate=a / (a + b) if a + b else None, decided=a + b,
        tie_share=tie / total if total else None, both_bad_share=bad / total if total else None,
        voters=len(votes_per_voter),
        median_votes_per_voter=float(statistics.median(votes_per_voter)) if votes_per_voter else None,
        max_votes_per_voter=max(votes_per_voter, default=0),
    )


@dataclass(frozen=True)
class ArenaReport:
    """Everything a leaderboard page shows for one slice of the votes."""

    query: BattleQuery
    leaderboard: Leaderboard
    battles: BattleSet
    win_rates: dict[str, dict[str, float]]
    bias: BiasReport


WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


def count_battles(rows: Iterable[Mapping[str, Any]]) -> tuple[list[BattleCount], int]:
    """Group arena-schema rows (ours or the public lmsys ones) into counts; returns them and how many
    rows were skipped for lacking a known ``winner`` or either model."""
    grouped: dict[tuple[str, str, str], int] = {}
    skipped = 0
    for row in rows:
        a, b, winner = row.get("model_a"), row.get("model_b"), row.get("winner")
        if not a or not b or winner not in WINNERS:
            skipped += 1
            continue
        key = (str(a), str(b), str(winner))
        grouped[key] = grouped.get(key, 0) + 1
    return [BattleCount(a, b, w, n) for (a, b, w), n in grouped.items()], skipped
