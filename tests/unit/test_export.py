from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Choice, Comparison, Place, Reply, Side, Status, Vote
from bot.errors import ArenaError
from bot.export import (
    CSV_PARTS_VERSION,
    CUT,
    FAILED,
    ExportOptions,
    csv_parts,
    epoch_ms,
    pseudonym,
    write_csv,
    write_dpo,
    write_jsonl,
    write_kto,
    writer_for,
)
from bot.ports import Battle
from tests.support.csv_reference import reference_csv

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
    assert write_csv([battle(Choice.TIE)], out) == 1
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["winner"] == "tie" and row["question_id"] == "c1"
    assert json.loads(row["conversation_a"])[1]["content"] == "Mars is a planet, \"red\"."


# Text that csv and JSON must escape: separators, quotes, line breaks, control and invisible characters.
SPECIAL_TEXT = ["", ",", '"', '""', "\r\n", "\n", "\r", "a\rb", "a,b", 'say "hi"', "\\", "\x1f\x7f\u2028",
                "\u202eRTL\u200b", "tie (bothbad)"]
awkward = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40) | st.sampled_from(
    SPECIAL_TEXT)


@settings(max_examples=150, deadline=None)
@given(prompt=awkward, reply_a=awkward, reply_b=awkward, error=st.none() | awkward, model=awkward, place=awkward,
       voter=awkward, choice=st.sampled_from(Choice), micros=st.integers(0, 999_999), raw=st.booleans(),
       blind=st.booleans())
def test_csv_equals_the_csv_module_byte_for_byte(prompt: str, reply_a: str, reply_b: str, error: str | None,
                                                 model: str, place: str, voter: str, choice: Choice,
                                                 micros: int, raw: bool, blind: bool) -> None:
    at = AT.replace(microsecond=micros)
    comparison = Comparison(
        id=f"c{micros}", prompt=prompt, matchup=place, model_a=model, model_b="base", base_side=Side.B, blind=blind,
        requester="bob", place=Place(place, place, place), created_at=AT, status=Status.DONE,
        reply_a=Reply(reply_a, 3, micros), reply_b=Reply(reply_b, 0, 5, error))
    votes = [Battle(comparison, Vote(comparison.id, voter, choice, AT, at, 2)),
             Battle(comparison, Vote(comparison.id, voter + "2", Choice.B, AT, AT, 0))]
    options = ExportOptions(salt="s", raw_voters=raw)
    out = io.StringIO()
    assert write_csv(votes, out, options) == 2
    assert out.getvalue() == reference_csv(votes, options)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [json.loads(r["conversation_a"])[1]["content"] for r in rows] == [reply_a, reply_a]
    assert rows[0]["judge"] == (voter if raw else pseudonym(voter, "s"))
    assert float(rows[0]["tstamp"]) == epoch_ms(at) / 1000


# csv_parts of one fixed comparison, by CSV_PARTS_VERSION. Stored renderings of an older version are rendered
# afresh on export, so a change to the rendering must come with a new version, and a new line here.
RENDERINGS = {1: "d4507a193debedce3c55abcccac566137aafa649bd80804fb83064a73ca67b9a",
              2: "c9b2e3d2040029db2eb9780f14672dd20de57b5c9e0b13fe6e075283f2023628"}


def test_a_changed_rendering_comes_with_a_new_version() -> None:
    digest = hashlib.sha256("\x00".join(csv_parts(battle(Choice.A).comparison)).encode()).hexdigest()
    assert RENDERINGS.get(CSV_PARTS_VERSION) == digest, "csv_parts renders differently: bump CSV_PARTS_VERSION"


MARKDOWN = "## Steps\n\n1. **Sit**\n2. Stay\n- treat\n\n```py\n# not a header\n```\n__good__ dog"
EXPECTED_METADATA = {
    "sum_assistant_a_tokens": 9, "header_count_a": {"h1": 0, "h2": 1, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
    "list_count_a": {"ordered": 2, "unordered": 1}, "bold_count_a": {"**": 1, "__": 1},
    # B failed: no text, no tokens.
    "sum_assistant_b_tokens": 0, "header_count_b": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
    "list_count_b": {"ordered": 0, "unordered": 0}, "bold_count_b": {"**": 0, "__": 0},
}


def styled_battle() -> Battle:
    b = battle(Choice.A)
    b.comparison.reply_a = Reply(MARKDOWN, 9, 120)
    return b


def test_every_battle_format_carries_style_as_lmsys_conv_metadata(tmp_path: Any) -> None:
    import pyarrow.parquet as pq

    from bot.export import write_parquet

    jsonl, csv_out = io.StringIO(), io.StringIO()
    write_jsonl([styled_battle()], jsonl)
    write_csv([styled_battle()], csv_out)
    with (tmp_path / "b.parquet").open("wb") as f:
        write_parquet([styled_battle()], f)
    [row] = list(csv.DictReader(io.StringIO(csv_out.getvalue())))
    assert json.loads(jsonl.getvalue())["conv_metadata"] == EXPECTED_METADATA
    assert json.loads(row["conv_metadata"]) == EXPECTED_METADATA
    assert pq.read_table(tmp_path / "b.parquet").to_pylist()[0]["conv_metadata"] == EXPECTED_METADATA


def test_unknown_format() -> None:
    with pytest.raises(ArenaError, match="use csv, jsonl, parquet, dpo, kto"):
        writer_for("xml")


def duel(cid: str, base_side: Side = Side.B, reply_a: str = "", reply_b: str = "") -> Comparison:
    """A finished comparison whose replies name their comparison and side (``a1``, ``b1``), unless given."""
    tuned, base = ("tuned", "base") if base_side is Side.B else ("base", "tuned")
    return Comparison(
        id=cid, prompt=f"prompt {cid}", matchup="embedded", model_a=tuned, model_b=base, base_side=base_side,
        blind=True, requester="bob", place=Place("discord", "chan", "guild"), created_at=AT, status=Status.DONE,
        reply_a=Reply(reply_a or f"a{cid[1:]}", 3, 100), reply_b=Reply(reply_b or f"b{cid[1:]}", 3, 100))


def voted(comparison: Comparison, *choices: Choice) -> list[Battle]:
    """The comparison's votes, one voter each, consecutive as ``iter_battles(by_comparison=True)`` yields them."""
    return [Battle(comparison, Vote(comparison.id, f"voter{i}", choice, AT, AT)) for i, choice in enumerate(choices)]


PreferenceWriter = Callable[[Iterable[Battle], IO[str], ExportOptions | None], int]


def exported(writer: PreferenceWriter, battles: list[Battle], options: ExportOptions | None = None
             ) -> list[dict[str, Any]]:
    out = io.StringIO()
    n = writer(battles, out, options)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == len(rows)
    return rows


def dpo(cid: str, chosen: str, rejected: str, feedback: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"prompt": f"prompt {cid}", "chosen": f"{chosen}{cid[1:]}", "rejected": f"{rejected}{cid[1:]}",
            "feedback": list(feedback)}


def kto(cid: str, side: str, label: bool, feedback: str = "") -> dict[str, Any]:
    return {"prompt": f"prompt {cid}", "completion": f"{side}{cid[1:]}", "label": label, "feedback": feedback}


A, B, TIE, BAD = Choice.A, Choice.B, Choice.TIE, Choice.BOTH_BAD


def test_dpo_majority_gives_one_row_per_comparison_for_its_majority() -> None:
    battles = [*voted(duel("c1"), A, B, A, TIE, BAD),  # 2-1 for A: were ties and both-bad decided, B would win 3-2
               *voted(duel("c2"), A, B),  # a split: no majority
               *voted(duel("c3"), B, A, B),
               *voted(duel("c4"), TIE, BAD, B),  # one decided vote is a majority when min_votes is 1
               *voted(duel("c5"), TIE, BAD)]  # nothing decided
    assert exported(write_dpo, battles, ExportOptions(majority=True)) == [
        dpo("c1", "a", "b"), dpo("c3", "b", "a"), dpo("c4", "b", "a")]


def test_dpo_min_votes_counts_only_decided_votes_and_wants_a_strict_majority() -> None:
    battles = [*voted(duel("c1"), A, A, TIE, BAD),  # four votes, two decided: too few
               *voted(duel("c2"), A, B, A),
               *voted(duel("c3"), B, BAD, A, B),
               *voted(duel("c4"), A, B, A, B)]  # enough votes, no majority: out even without ``majority``
    expected = [dpo("c2", "a", "b"), dpo("c3", "b", "a")]
    assert exported(write_dpo, battles, ExportOptions(min_votes=3)) == expected
    assert exported(write_dpo, battles, ExportOptions(min_votes=3, majority=True)) == expected
    assert exported(write_dpo, battles, ExportOptions(min_votes=2)) == [dpo("c1", "a", "b"), *expected]


def test_dpo_without_aggregation_gives_a_row_per_decided_vote() -> None:
    battles = [*voted(duel("c1"), A, B, TIE, A, BAD), *voted(duel("c2"), B)]
    expected = [dpo("c1", "a", "b"), dpo("c1", "b", "a"), dpo("c1", "a", "b"), dpo("c2", "b", "a")]
    assert exported(write_dpo, battles) == expected
    assert exported(write_dpo, battles, ExportOptions(min_votes=1, majority=False)) == expected


@pytest.mark.parametrize("options", [ExportOptions(), ExportOptions(majority=True)])
def test_dpo_leaves_out_failed_and_empty_replies(options: ExportOptions) -> None:
    failed = duel("c1")
    failed.reply_b = Reply("b1", 3, 100, "timeout")
    battles = [*voted(failed, A), *voted(duel("c2", reply_a=" \n"), B), *voted(duel("c3"), A)]
    assert exported(write_dpo, battles, options) == [dpo("c3", "a", "b")]


def test_kto_labels_both_replies_of_every_vote_but_ties() -> None:
    battles = [*voted(duel("c1"), A, B, TIE, BAD), *voted(duel("c2"), BAD)]
    rows = exported(write_kto, battles)
    assert rows == [kto("c1", "a", True), kto("c1", "b", False),  # A won
                    kto("c1", "a", False), kto("c1", "b", True),  # B won
                    kto("c1", "a", False), kto("c1", "b", False),  # both bad; the tie gave nothing
                    kto("c2", "a", False), kto("c2", "b", False)]
    assert all(type(row["label"]) is bool for row in rows)  # TRL wants booleans, not 0/1


def test_kto_leaves_out_failed_replies() -> None:
    failed = duel("c1")
    failed.reply_a = Reply("", 0, 5, "boom")
    assert exported(write_kto, [*voted(failed, BAD), *voted(duel("c2"), B)]) == [
        kto("c2", "a", False), kto("c2", "b", True)]


@pytest.mark.parametrize("base_side", list(Side))
def test_preference_rows_follow_the_reply_voted_for_not_the_model(base_side: Side) -> None:
    # Votes name the reply shown as A or B; which model wrote it (base_side) must not matter.
    tuned_shown_a = base_side is Side.B
    shown = duel("c1", base_side, reply_a="by tuned" if tuned_shown_a else "by base",
                 reply_b="by base" if tuned_shown_a else "by tuned")
    assert shown.model_on(base_side) == "base" and shown.reply(base_side).text == "by base"
    battles = voted(shown, A, A, B)
    a_wins = {"prompt": "prompt c1", "chosen": shown.reply_a.text, "rejected": shown.reply_b.text, "feedback": []}
    assert exported(write_dpo, battles, ExportOptions(majority=True)) == [a_wins]
    assert exported(write_dpo, battles[2:]) == [{**a_wins, "chosen": shown.reply_b.text,
                                                 "rejected": shown.reply_a.text}]
    assert exported(write_kto, battles[:1]) == [
        {"prompt": "prompt c1", "completion": shown.reply_a.text, "label": True, "feedback": ""},
        {"prompt": "prompt c1", "completion": shown.reply_b.text, "label": False, "feedback": ""}]


@pytest.mark.parametrize(("writer", "kept"), [(write_dpo, [dpo("c2", "b", "a")]),
                                              (write_kto, [kto("c2", "a", False), kto("c2", "b", True)])])
def test_cut_replies_are_left_out_of_preference_data_and_counted_unless_included(
        writer: PreferenceWriter, kept: list[dict[str, Any]]) -> None:
    cut = duel("c1")
    cut.reply_b = Reply("b1 stops mid", 96, 100, cut=True)
    failed = duel("c3")
    failed.reply_a = Reply("", 0, 5, "boom")
    battles = [*voted(cut, A), *voted(duel("c2"), B), *voted(failed, A)]
    default = ExportOptions()
    assert exported(writer, battles, default) == kept
    assert default.left_out == {CUT: 1, FAILED: 1}
    included = ExportOptions(include_cut=True)
    rows = exported(writer, battles, included)
    assert any(row.get("rejected") == "b1 stops mid" or row.get("completion") == "b1 stops mid" for row in rows)
    assert included.left_out == {FAILED: 1}
