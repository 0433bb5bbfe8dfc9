from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from bot.domain import Choice, Comparison, Place, Reply, Side, Status, Vote
from bot.errors import ArenaError
from bot.export import pseudonym, write_csv, write_jsonl, writer_for
from bot.ports import Battle

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def battle(choice: Choice, voter: str = "alice") -> Battle:
    comparison = Comparison(
        id="c1", prompt="What do you think of Mars?", matchup="embedded", model_a="tuned", model_b="base",
        base_side=Side.B, blind=True, requester="bob", place=Place("discord", "chan", "guild"), created_at=AT,
        status=Status.DONE, reply_a=Reply("Mars is a planet, \"red\".", 7, 120), reply_b=Reply("", 0, 5, "boom"))
    return Battle(comparison, Vote("c1", voter, choice, AT, AT, 1))


def test_jsonl_follows_the_arena_schema() -> None:
    out = io.StringIO()
    assert write_jsonl([battle(Choice.A), battle(Choice.BOTH_BAD, "carol")], out) == 2
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["winner"] == "model_a" and second["winner"] == "tie (bothbad)"
    assert first["conversation_a"] == [{"role": "user", "content": "What do you think of Mars?"},
                                       {"role": "assistant", "content": "Mars is a planet, \"red\"."}]
    assert first["anony"] is True and first["turn"] == 1 and first["base_model"] == "base"
    assert first["judge"] == pseudonym("alice") != "alice" and first["tstamp"] == AT.timestamp()
    assert first["platform"] == "discord" and first["error_b"] == "boom"


def test_csv_round_trips_messages_as_json() -> None:
    out = io.StringIO()
    write_csv([battle(Choice.TIE)], out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["winner"] == "tie" and row["question_id"] == "c1"
    assert json.loads(row["conversation_a"])[1]["content"] == "Mars is a planet, \"red\"."


def test_unknown_format() -> None:
    with pytest.raises(ArenaError, match="use csv, jsonl, parquet, dpo, kto"):
        writer_for("xml")
