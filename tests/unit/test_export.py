from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Choice, Comparison, Place, Reply, Side, Status, Vote
from bot.errors import ArenaError
from bot.export import (
    COLUMNS,
    CSV_PARTS_VERSION,
    ExportOptions,
    csv_line,
    csv_parts,
    epoch_ms,
    in_place,
    judge_for,
    pseudonym,
    write_csv,
    write_jsonl,
    writer_for,
)
from bot.ports import Battle, CsvChunk, CsvFile
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


def chunks(battles: list[Battle], options: ExportOptions | None = None) -> list[CsvChunk]:
    """What a repository hands the CSV writer: the lines as ``csv_line`` assembles them."""
    judge = judge_for(options or ExportOptions())
    lines = [csv_line(csv_parts(b.comparison), b.vote.choice.value, judge(b.vote.voter), epoch_ms(b.vote.updated_at),
                      b.vote.changes) for b in battles]
    return [CsvChunk("".join(lines), len(lines))]


def test_csv_round_trips_messages_as_json() -> None:
    out = io.StringIO()
    assert write_csv(chunks([battle(Choice.TIE)]), out) == 1
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
    assert write_csv(chunks(votes, options), out, options) == 2
    assert out.getvalue() == reference_csv(votes, options)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [json.loads(r["conversation_a"])[1]["content"] for r in rows] == [reply_a, reply_a]
    assert rows[0]["judge"] == (voter if raw else pseudonym(voter, "s"))
    assert float(rows[0]["tstamp"]) == epoch_ms(at) / 1000


# csv_parts of one fixed comparison, by CSV_PARTS_VERSION. Stored renderings of an older version are rendered
# afresh on export, so a change to the rendering must come with a new version, and a new line here.
RENDERINGS = {1: "d4507a193debedce3c55abcccac566137aafa649bd80804fb83064a73ca67b9a"}


def test_a_changed_rendering_comes_with_a_new_version() -> None:
    digest = hashlib.sha256("\x00".join(csv_parts(battle(Choice.A).comparison)).encode()).hexdigest()
    assert RENDERINGS.get(CSV_PARTS_VERSION) == digest, "csv_parts renders differently: bump CSV_PARTS_VERSION"


def test_unknown_format() -> None:
    with pytest.raises(ArenaError, match="use csv, jsonl, parquet, dpo, kto"):
        writer_for("xml")


def test_lines_go_in_place_only_into_a_regular_file_written_at_a_position(tmp_path: Path) -> None:
    assert in_place(io.StringIO()) is None
    with open(tmp_path / "a.csv", "w", encoding="utf-8") as out:
        out.write("héllo\n")  # buffered: in_place flushes it first
        found = in_place(out)
        assert found is not None and found.fd == out.fileno() and found.offset == len("héllo\n".encode())
    with open(tmp_path / "a.csv", "a", encoding="utf-8") as out:
        assert in_place(out) is None  # appending: every write lands at the end
    with open(tmp_path / "b.csv", "w", encoding="latin-1") as out:
        assert in_place(out) is None  # the database's lines are UTF-8
    read, write = os.pipe()
    with open(write, "w", encoding="utf-8") as out, open(read, "rb"):
        assert in_place(out) is None  # a pipe has no offsets


def test_write_csv_lets_its_source_write_in_place_and_goes_on_after(tmp_path: Path) -> None:
    def source(into: CsvFile | None) -> list[CsvChunk]:
        assert into is not None
        os.pwrite(into.fd, "a,é\r\n".encode(), into.offset)
        os.pwrite(into.fd, b"b\r\n", into.offset + len("a,é\r\n".encode()))
        return [CsvChunk(b"", 1, written=len("a,é\r\n".encode())), CsvChunk(b"", 1, written=3)]

    with open(tmp_path / "votes.csv", "w", newline="", encoding="utf-8") as out:
        assert write_csv(source, out) == 2
        out.write("end")
    header = ",".join(COLUMNS) + "\r\n"
    assert (tmp_path / "votes.csv").read_bytes().decode() == header + "a,é\r\nb\r\nend"


def test_write_csv_refuses_lines_claimed_written_where_nothing_can_be() -> None:
    def claims(into: CsvFile | None) -> list[CsvChunk]:
        return [CsvChunk(b"", 1, written=10)]

    with pytest.raises(RuntimeError, match="nowhere to go"):
        write_csv(claims, io.StringIO())
