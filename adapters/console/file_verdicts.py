"""Verdicts from a battle file (``ftarena leaderboard --battles FILE --style``): the style features come from each
row's lmsys ``conv_metadata`` (as LMArena's public battles and our exports carry it); the LC win rate and the
decision need our own columns ``matchup`` and ``base_model``; the outlier test reads ``judge`` as the voter."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.errors import ArenaError
from bot.outcomes import WINNERS
from bot.statistics.slices import FilterStep
from bot.statistics.style import parse_conv_metadata
from bot.statistics.verdicts import Verdicts, outlier_report, verdicts
from bot.statistics.vote_table import VoteRecord, table_from_records

NO_METADATA = "rows without conv_metadata (left out of style control)"
# Columns read from a Parquet file besides the battle's own, when present.
VERDICT_COLUMNS = ("conv_metadata", "matchup", "base_model", "judge")


def _metadata(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    found = row.get("conv_metadata")
    if isinstance(found, str) and found.strip():  # a CSV cell holds it as JSON text
        found = json.loads(found)
    return found if isinstance(found, Mapping) and found else None


def records(rows: Iterable[Mapping[str, Any]]) -> tuple[list[VoteRecord], int]:
    """The battles that carry ``conv_metadata`` as votes, in file order; and how many rows lacked it."""
    found, lacking = [], 0
    for number, row in enumerate(rows, 1):
        a, b, winner = row.get("model_a"), row.get("model_b"), row.get("winner")
        if not a or not b or winner not in WINNERS:
            continue  # already counted by the plain leaderboard's skipped rows
        try:
            metadata = _metadata(row)
            if metadata is None:
                lacking += 1
                continue
            style_a, style_b = parse_conv_metadata(metadata)
        except (ValueError, TypeError) as exc:
            raise ArenaError(f"battle {number}: conv_metadata is not lmsys style metadata ({exc}).") from None
        base = row.get("base_model")
        found.append(VoteRecord(
            matchup=str(row.get("matchup") or "") if base in (a, b) else "", voter=str(row.get("judge") or ""),
            model_a=str(a), model_b=str(b), winner=str(winner), finetuned_side="b" if base == a else "a",
            style_a=style_a, style_b=style_b))
    return found, lacking


def file_verdicts(rows: Iterable[Mapping[str, Any]], *, style: bool, drop_outliers: bool,
                  rounds: int | None) -> tuple[Verdicts, tuple[FilterStep, ...], frozenset[str]]:
    """The verdicts of a file's battles, the filter steps they add, and the voters (``judge``) they drop."""
    votes, lacking = records(rows)
    if style and not votes:
        raise ArenaError("--style needs battles with conv_metadata (style features); this file has none.")
    table = table_from_records(votes)
    outliers = outlier_report(table)
    dropped = outliers.voter_ids if drop_outliers else frozenset()
    if dropped:
        table = table.without_voters(dropped)
    found = verdicts(table, outliers, style=style, dropped=drop_outliers, rounds=rounds)
    # A battle file names no matchup unless it is one of our exports: those rows give no per-matchup verdict.
    found = Verdicts(found.style, {k: v for k, v in found.matchups.items() if k}, found.outliers, found.dropped)
    steps = (FilterStep(NO_METADATA, lacking),) if style else ()
    return found, steps, dropped
