"""Preference rows -> TRL datasets, and the checks that run before any worker starts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain import Choice, Comparison, Place, Reply, Side, Status, Vote
from bot.export import write_dpo, write_kto
from bot.ports import Battle
from tests.training.conftest import PAIRS
from training.dataset import COLUMNS, check_enough, read_rows, to_dataset, usable_rows, write_rows
from training.errors import HyperParameterError, NotEnoughPairsError, PreferenceDataError
from training.params import TrainParams

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_too_few_pairs_says_how_many_there_are_and_how_many_are_needed() -> None:
    with pytest.raises(NotEnoughPairsError) as caught:
        check_enough(PAIRS[:3], "dpo", min_pairs=20)
    assert (caught.value.have, caught.value.need) == (3, 20)
    assert "3" in caught.value.user_message and "20" in caught.value.user_message
    assert "--min-pairs" in caught.value.user_message


def test_empty_replies_do_not_count_and_malformed_rows_are_errors() -> None:
    rows = [*PAIRS[:2], {"prompt": "p", "chosen": "", "rejected": "x"}]
    assert len(usable_rows(rows, "dpo")) == 2
    with pytest.raises(PreferenceDataError, match="no 'rejected'"):
        usable_rows([{"prompt": "p", "chosen": "x"}], "dpo")
    with pytest.raises(PreferenceDataError, match="wrong type"):
        usable_rows([{"prompt": "p", "completion": "x", "label": "yes"}], "kto")
    with pytest.raises(PreferenceDataError, match="both liked and disliked"):
        check_enough([{"prompt": "p", "completion": "x", "label": False}] * 3, "kto", min_pairs=1)


def test_a_dpo_export_becomes_a_conversational_dataset(tmp_path: Path) -> None:
    path = tmp_path / "dpo.jsonl"
    write_rows(PAIRS, path)
    dataset = to_dataset(read_rows(path), "dpo", chat=True, min_pairs=6)
    assert dataset.column_names == ["prompt", "chosen", "rejected"]
    assert dataset[0]["prompt"] == [{"role": "user", "content": "What is 2+2?"}]
    assert dataset[0]["chosen"] == [{"role": "assistant", "content": "2+2 is 4."}]
    plain = to_dataset(PAIRS, "dpo", chat=False, min_pairs=6)
    assert plain[0]["prompt"] == "What is 2+2?"


def _battle(n: int, choice: Choice) -> Battle:
    comparison = Comparison(
        id=f"c{n}", prompt=f"Question {n}?", matchup="embedded", model_a="tuned", model_b="base",
        base_side=Side.B, blind=True, requester="bob", place=Place("discord", "chan", "guild"), created_at=AT,
        status=Status.DONE, reply_a=Reply(f"Answer {n}.", 3, 100), reply_b=Reply(f"Other {n}.", 3, 100))
    return Battle(comparison, Vote(comparison.id, "alice", choice, AT, AT, 0))


def test_the_exports_of_bot_export_are_read_as_they_are_written() -> None:
    battles = [_battle(n, choice) for n, choice in enumerate([Choice.A, Choice.B, Choice.BOTH_BAD, Choice.TIE])]
    for writer, method, expected in ((write_dpo, "dpo", 2), (write_kto, "kto", 6)):
        out = io.StringIO()
        writer(battles, out, None)
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(rows) == expected
        # Training reads TRL's columns only; the reasons (``feedback``) stay metadata.
        assert "feedback" in rows[0]
        assert usable_rows(rows, method) == [{c: row[c] for c in COLUMNS[method]} for row in rows]
        assert len(to_dataset(rows, method, chat=True, min_pairs=1)) == expected


@pytest.mark.parametrize(("change", "name"), [
    ({"learning_rate": float("nan")}, "learning_rate"), ({"learning_rate": 3.0}, "learning_rate"),
    ({"lora_r": 0}, "lora_r"), ({"max_length": 4}, "max_length"), ({"epochs": -1.0}, "epochs"),
    ({"method": "kto", "batch_size": 1}, "batch_size"), ({"method": "ppo"}, "method"),
])
def test_bad_hyper_parameters_are_named(change: dict[str, object], name: str) -> None:
    with pytest.raises(HyperParameterError) as caught:
        TrainParams(**change).check()  # type: ignore[arg-type]
    assert caught.value.name == name


def test_hyper_parameters_survive_the_command_line() -> None:
    import argparse

    params = TrainParams(method="kto", learning_rate=3e-5, lora_r=4, chat=False, max_steps=7)
    parser = argparse.ArgumentParser()
    TrainParams.add_arguments(parser)
    assert TrainParams.from_namespace(parser.parse_args(params.to_argv())) == params
