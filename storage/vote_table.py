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
from sqlalchemy import Connection, case, func, select

from bot.domain import Choice, Side
from bot.outcomes import SCORES, WINNER
from bot.statistics.slices import BattleQuery
from bot.statistics.vote_table import VoteTable, table_from_columns
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
    try:
        cursor.execute(sql, params({}))
        rows: list[Sequence[Any]] = []
        while batch := cursor.fetchmany(FETCH_BATCH):
            rows.extend(batch)
    finally:
        cursor.close()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 14
    table = table_from_columns(
        columns[0], columns[1], columns[2], columns[3], np.array(columns[4], dtype=np.float64),
        np.array(columns[5], dtype=bool), np.array(columns[6:10], dtype=np.int64).T,
        np.array(columns[10:14], dtype=np.int64).T,
    )
    # Voters left out here, not in SQL: NOT IN's expanding parameter has no form on the driver's own cursor.
    return table.without_voters(query.without_voters) if query.without_voters else table
