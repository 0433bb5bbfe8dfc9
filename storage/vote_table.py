"""Votes read as columns with both replies' style (``Repository.vote_table``), what style control, the
length-controlled win rate, the decision state and the outlier test read.

Fast path: every column comes from the votes table itself (each vote copies its comparison's base side and style
totals when cast, storage/votes.py), so the read is one scan with no join, on the driver's own cursor, its rows
turned into arrays column by column with no ORM object or SQLAlchemy row per vote. Measured in
benchmarks/RESULTS.md ("style_board"); the cost is nine integer columns copied onto every vote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, case, func, select

from bot.domain import Choice, Side
from bot.outcomes import SCORES, WINNER
from bot.statistics.slices import BattleQuery
from bot.statistics.vote_table import VoteTable
from storage.battles import conditions
from storage.driver import driver_query
from storage.orm import VOTES
from storage.reply_style import STYLE_TOTALS

FETCH_BATCH = 50_000
# Score of model A by stored choice.
_SCORE = {choice.value: SCORES[WINNER[choice]] for choice in Choice}


def vote_table(connection: Connection, query: BattleQuery) -> VoteTable:
    """The votes of a slice after its quality filters (the daily cap aside), in the order first cast."""
    v = VOTES.c
    # Numbers computed by the database, so that each column becomes an array in one call: model A's score, whether
    # the fine-tune was A, and the totals (a vote cast by a process older than migration 0011 has none: NULL,
    # counted as equal style).
    score = case(_SCORE, value=v.choice, else_=0.5)
    finetuned_a = case((v.base_side == Side.B.value, 1), else_=0)
    totals = [func.coalesce(v[name], 0) for name in STYLE_TOTALS]
    statement = (select(v.matchup, v.voter, v.model_a, v.model_b, score, finetuned_a, *totals)
                 .where(*conditions(replace(query, without_voters=()))).order_by(v.id))
    sql, params = driver_query(connection, statement)
    cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = _Names()
    chunks: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.int32]]] = []
    try:
        cursor.execute(sql, params({}))
        # A chunk's rows become arrays before the next is fetched: a million rows as Python tuples took 600 MB.
        while batch := cursor.fetchmany(FETCH_BATCH):
            columns = list(zip(*batch, strict=True))
            chunks.append((np.array([names.codes(k, columns[k]) for k in range(4)], dtype=np.int32),
                           np.array(columns[4], dtype=np.float64), np.array(columns[5:], dtype=np.int32)))
    finally:
        cursor.close()
    strings = np.concatenate([c[0] for c in chunks], axis=1) if chunks else np.zeros((4, 0), dtype=np.int32)
    numbers = np.concatenate([c[2] for c in chunks], axis=1) if chunks else np.zeros((9, 0), dtype=np.int32)
    table = names.table(strings, np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0), numbers)
    # Voters left out here, not in SQL: NOT IN's expanding parameter has no form on the driver's own cursor.
    return table.without_voters(query.without_voters) if query.without_voters else table


class _Names:
    """Codes for the text columns (matchup, voter, model a, model b) as chunks come in; models share one list."""

    def __init__(self) -> None:
        self.found: list[dict[str, int]] = [{}, {}, {}]

    def codes(self, column: int, values: Sequence[str]) -> list[int]:
        known = self.found[min(column, 2)]
        for value in set(values).difference(known):
            known[value] = len(known)
        return list(map(known.__getitem__, values))

    def table(self, strings: npt.NDArray[np.int32], scores: npt.NDArray[np.float64],
              numbers: npt.NDArray[np.int32]) -> VoteTable:
        """The table, with each name list sorted (as ``table_from_columns`` gives them) and codes renumbered."""
        lists, remapped = [], []
        for known in self.found:
            ordered = sorted(known)
            order = np.zeros(len(known), dtype=np.intp)
            order[[known[name] for name in ordered]] = np.arange(len(ordered))
            lists.append(tuple(ordered))
            remapped.append(order)
        matchup, voter, a, b = (remapped[min(k, 2)][strings[k]] for k in range(4))
        return VoteTable(models=lists[2], matchups=lists[0], voters=lists[1], a=a, b=b, matchup=matchup, voter=voter,
                         scores=scores, finetuned_a=numbers[0].astype(bool), style_a=numbers[1:5].T,
                         style_b=numbers[5:9].T)
