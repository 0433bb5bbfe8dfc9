"""A vote's reason (``feedback``) in every export: the arena formats' column, and DPO/KTO metadata."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from bot.domain import Choice
from bot.export import ExportOptions, write_csv, write_dpo, write_jsonl, write_kto, write_parquet
from bot.ports import Battle
from tests.support.csv_reference import reference_csv
from tests.unit.test_export import battle, duel, voted

REASON = 'B said "I don\'t know", A answered,\r\nwith steps'


def reasoned(b: Battle, feedback: str) -> Battle:
    return Battle(b.comparison, dataclasses.replace(b.vote, feedback=feedback))


def test_jsonl_and_csv_carry_the_reason_and_csv_equals_the_csv_module() -> None:
    battles = [reasoned(battle(Choice.A), REASON), battle(Choice.B, "carol")]
    out = io.StringIO()
    write_jsonl(battles, out)
    assert [json.loads(line)["feedback"] for line in out.getvalue().splitlines()] == [REASON, ""]
    out = io.StringIO()
    write_csv(battles, out)
    assert out.getvalue() == reference_csv(battles)
    assert [row["feedback"] for row in csv.DictReader(io.StringIO(out.getvalue(), newline=""))] == [REASON, ""]


def test_parquet_carries_the_reason() -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    out = io.BytesIO()
    write_parquet([reasoned(battle(Choice.A), REASON)], out)
    assert pq.read_table(io.BytesIO(out.getvalue())).column("feedback").to_pylist() == [REASON]


def test_dpo_rows_list_the_reasons_of_the_votes_they_stand_for() -> None:
    c1 = voted(duel("c1"), Choice.A, Choice.A, Choice.B)
    battles = [reasoned(c1[0], "concise"), c1[1], reasoned(c1[2], "B was kinder")]
    per_vote = io.StringIO()
    write_dpo(battles, per_vote, ExportOptions())
    assert [json.loads(line)["feedback"] for line in per_vote.getvalue().splitlines()] == [
        ["concise"], [], ["B was kinder"]]
    majority = io.StringIO()
    write_dpo(battles, majority, ExportOptions(majority=True))
    [row] = [json.loads(line) for line in majority.getvalue().splitlines()]
    assert row["chosen"] == "a1" and row["feedback"] == ["concise"]  # the winning side's reasons only


def test_kto_rows_carry_their_votes_reason() -> None:
    out = io.StringIO()
    write_kto([reasoned(voted(duel("c1"), Choice.BOTH_BAD)[0], "both rambled")], out, ExportOptions())
    assert [json.loads(line)["feedback"] for line in out.getvalue().splitlines()] == ["both rambled"] * 2
