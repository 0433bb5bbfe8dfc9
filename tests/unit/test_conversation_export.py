"""Exports of a conversation's later turn: every message in ``conversation_a``/``_b`` and ``turn`` counting turns
(the lmsys schema), the same bytes from the CSV writer as from the csv module, and TRL's conversational form for
DPO/KTO rows (checked with TRL's own ``is_conversational``)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from bot import export
from bot.domain import Choice, Comparison, Exchange, Place, Reply, Side, Status, Vote
from bot.ports import Battle
from tests.support.csv_reference import reference_csv

AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def turn_two(base_side: Side = Side.A) -> Comparison:
    return Comparison(
        id="c2", prompt="And why, \"exactly\"?", matchup="pair", model_a="base-m", model_b="tuned-m",
        base_side=base_side, blind=True, requester="u1", place=Place("console", "terminal"), created_at=AT,
        status=Status.DONE, reply_a=Reply("Because, well.", 3, 10), reply_b=Reply("It herds sheep ✓", 4, 12),
        conversation_id="c1", turn=2, history=(Exchange("Name a dog breed,\nplease", "Dogs are", "Border collie"),))


def battle(c: Comparison, choice: Choice) -> Battle:
    return Battle(c, Vote(c.id, "alice", choice, AT, AT))


def test_conversations_carry_every_message_of_their_own_side() -> None:
    row = export.battle_row(battle(turn_two(), Choice.B))
    assert row["turn"] == 2
    assert row["conversation_a"] == [
        {"role": "user", "content": "Name a dog breed,\nplease"}, {"role": "assistant", "content": "Dogs are"},
        {"role": "user", "content": "And why, \"exactly\"?"}, {"role": "assistant", "content": "Because, well."}]
    assert [m["content"] for m in row["conversation_b"]][1::2] == ["Border collie", "It herds sheep ✓"]


def test_the_csv_writer_renders_a_later_turn_as_the_csv_module_does() -> None:
    battles = [battle(turn_two(), Choice.A), battle(turn_two(Side.B), Choice.TIE)]
    out = io.StringIO()
    export.write_csv(battles, out)
    assert out.getvalue() == reference_csv(battles)
    assert ",2,True,," in out.getvalue()  # the turn column


def test_dpo_rows_of_a_later_turn_are_conversational_with_the_winners_history() -> None:
    out = io.StringIO()
    export.write_dpo([battle(turn_two(), Choice.B)], out)
    row = json.loads(out.getvalue())
    assert row["prompt"] == [{"role": "user", "content": "Name a dog breed,\nplease"},
                             {"role": "assistant", "content": "Border collie"},
                             {"role": "user", "content": "And why, \"exactly\"?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "It herds sheep ✓"}]
    assert row["rejected"] == [{"role": "assistant", "content": "Because, well."}]


def test_kto_rows_of_a_later_turn_give_each_reply_its_own_sides_history() -> None:
    out = io.StringIO()
    export.write_kto([battle(turn_two(), Choice.A)], out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["prompt"][1]["content"], r["completion"][0]["content"], r["label"]) for r in rows] == [
        ("Dogs are", "Because, well.", True), ("Border collie", "It herds sheep ✓", False)]


def test_first_turns_stay_in_the_standard_form() -> None:
    first = Comparison(id="c1", prompt="Name a dog breed", matchup="pair", model_a="base-m", model_b="tuned-m",
                       base_side=Side.A, blind=True, requester="u1", place=Place("console"), created_at=AT,
                       status=Status.DONE, reply_a=Reply("Dogs are"), reply_b=Reply("Border collie"))
    out = io.StringIO()
    export.write_dpo([battle(first, Choice.B)], out)
    assert json.loads(out.getvalue()) == {"prompt": "Name a dog breed", "chosen": "Border collie",
                                          "rejected": "Dogs are", "feedback": []}


def test_trl_reads_later_turns_as_conversational_and_first_turns_as_standard() -> None:
    data_utils = pytest.importorskip("trl.data_utils", reason="TRL comes with the [train] extra")
    later = io.StringIO()
    export.write_dpo([battle(turn_two(), Choice.A)], later)
    export.write_kto([battle(turn_two(), Choice.BOTH_BAD)], later)
    rows = [json.loads(line) for line in later.getvalue().splitlines()]
    assert rows and all(data_utils.is_conversational(row) for row in rows)
    first = replace_history(turn_two())
    standard = io.StringIO()
    export.write_dpo([battle(first, Choice.A)], standard)
    assert not data_utils.is_conversational(json.loads(standard.getvalue()))


def replace_history(c: Comparison) -> Comparison:
    c.history, c.turn, c.conversation_id = (), 1, None
    return c
