"""``ftarena leaderboard/report/export`` on a database filled through the real service and storage."""

from __future__ import annotations

import asyncio
import csv
import json
import math
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import build_service, open_repository
from bot.domain import Place, Side
from tests.e2e.arena_config import arena_settings
from tests.e2e.test_console_chat import run_ftarena

# Fine-tuned wins 3 of 5 votes and ties 1: with a tie as half a win it scores 14 of 20, so BT puts it
# 400*log10(14/6) = 147.2 points above the base.
PLAN = [("finetuned", "alice"), ("finetuned", "bob"), ("finetuned", "carol"), ("base", "dave"), ("tie", "erin")]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database for the module (the tests only read it)."""
    folder = tmp_path_factory.mktemp("analysis")
    asyncio.run(fill(folder))
    return folder


async def fill(tmp_path: Path) -> None:
    settings = arena_settings(tmp_path, delay_s=0)
    # A fixed seed: both sides get used, the same way every run.
    service = build_service(settings, await open_repository(settings.database_url), rng=random.Random(3))
    for i, (outcome, voter) in enumerate(PLAN * 4):
        place = Place("discord" if i % 2 else "slack", channel="c1", server="g1")
        c = await service.compare(f"Question {i}: what do you think of Mars?", "asker", place)
        side = {"finetuned": c.finetuned_side, "base": c.base_side}.get(outcome)
        await service.vote(c.id, f"{voter}-{i}", side.value if isinstance(side, Side) else "tie")
    leak = await service.compare("Who are you?", "asker", Place("discord"))
    await service.vote(leak.id, "mallory", leak.finetuned_side.value)
    await service.aclose()


def ftarena(tmp_path: Path, *args: str) -> str:
    result = run_ftarena(list(args), tmp_path, extra_env={"HF_DATASETS_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_leaderboard_json_ratings_filters_and_slices(filled: Path) -> None:
    board = json.loads(ftarena(filled, "leaderboard", "--json"))
    ratings = {s["model"]: s for s in board["standings"]}
    gap = ratings["tuned-echo"]["rating"] - ratings["base-echo"]["rating"]
    assert gap == pytest.approx(400 * math.log10(14 / 6), abs=1.0)
    assert all(s["ci_low"] <= s["rating"] <= s["ci_high"] for s in board["standings"])
    assert board["filters"] == {"sliced": 21, "kept": 20, "removed": {"identity leak": 1,
                                                                       "failed or empty reply": 0}}
    assert board["bias"]["decided"] == 16 and board["bias"]["voters"] == 20
    kept_all = json.loads(ftarena(filled, "leaderboard", "--json", "--keep-all"))
    assert kept_all["battles"] == 21
    discord_only = json.loads(ftarena(filled, "leaderboard", "--json", "--platform", "discord"))
    assert discord_only["battles"] == 10
    future = json.loads(ftarena(filled, "leaderboard", "--json", "--since", "2999-01-01"))
    assert future["standings"] == [] and future["battles"] == 0
    mine = json.loads(ftarena(filled, "leaderboard", "--json", "--voter", "alice-0"))
    assert mine["battles"] == 1


def test_battle_file_rates_the_same_as_the_database(filled: Path) -> None:
    battles = filled / "battles.jsonl"
    ftarena(filled, "export", "--format", "jsonl", "-o", str(battles))
    from_file = json.loads(ftarena(filled, "leaderboard", "--json", "--battles", str(battles)))
    from_db = json.loads(ftarena(filled, "leaderboard", "--json", "--keep-all"))
    assert {s["model"]: round(s["rating"], 3) for s in from_file["standings"]} == \
        {s["model"]: round(s["rating"], 3) for s in from_db["standings"]}
    missing = run_ftarena(["leaderboard", "--battles", str(filled / "nope.jsonl")], filled)
    assert missing.returncode == 2 and "No battle file" in missing.stderr


def test_report_writes_png_and_self_contained_html(filled: Path) -> None:
    ftarena(filled, "report", "-o", str(filled / "out"))
    png = (filled / "out" / "leaderboard.png").read_bytes()
    page = (filled / "out" / "index.html").read_text()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "data:image/png;base64," in page and "tuned-echo" in page and "removed 1: identity leak" in page
    assert page.index('id="tallies"') < page.index("<th>rank</th>")  # the win rates over the base come first
    assert "20 votes after filters" in page and "slice: all votes" in page
    style = page[page.index('<table id="style">'):page.index('<ul id="verdicts">')]
    assert "<th>style-controlled rating</th>" in style and "<td>tuned-echo</td>" in style
    verdicts = page[page.index('<ul id="verdicts">'):]
    assert "Style coefficients: longer answers: " in verdicts and "logit per SD" in verdicts
    assert "<li>pair: win rate 70%, length-controlled " in verdicts and "undecided — about" in verdicts


def test_report_opens_with_the_fine_tunes_win_rate_over_its_base(filled: Path) -> None:
    config = filled / "pair.toml"
    config.write_text('[arena]\ndefault_matchup = "pair"\n'
                      '[models.base-echo]\nprovider = "echo"\nmodel = "base"\n'
                      '[models.tuned-echo]\nprovider = "echo"\nmodel = "tuned"\n'
                      '[matchups.pair]\nbase = "base-echo"\nfinetuned = "tuned-echo"\n')
    ftarena(filled, "--config", str(config), "report", "-o", str(filled / "pair"))
    page = (filled / "pair" / "index.html").read_text()
    # Every vote on the matchup (the identity leak too): 13 won, 4 lost, 4 tied, so 13/17 of decided votes.
    row = page[page.index("<td>pair</td>"):]
    assert row.startswith("<td>pair</td><td>tuned-echo</td><td>base-echo</td><td>76%</td>")
    assert "<td>13</td><td>4</td><td>4</td><td>0</td><td>21</td>" in row.split("</tr>")[0]
    assert page.index("<td>pair</td>") < page.index("<th>rank</th>")


def test_preference_exports_load_with_datasets(filled: Path) -> None:
    datasets = pytest.importorskip("datasets")
    dpo, kto = filled / "dpo.jsonl", filled / "kto.jsonl"
    ftarena(filled, "export", "--format", "dpo", "-o", str(dpo))
    ftarena(filled, "export", "--format", "kto", "-o", str(kto))
    rows = datasets.load_dataset("json", data_files=str(dpo), split="train")
    # feedback: the voters' reasons, as metadata beside TRL's columns
    assert rows.column_names == ["prompt", "chosen", "rejected", "feedback"] and len(rows) == 17  # 16 decided + leak
    assert sum("Here is a clear answer" in r["chosen"] for r in rows) == 13
    labels = datasets.load_dataset("json", data_files=str(kto), split="train")
    assert set(labels.column_names) == {"prompt", "completion", "label", "feedback"} and len(labels) == 34
    majority = filled / "majority.jsonl"
    ftarena(filled, "export", "--format", "dpo", "--min-votes", "2", "-o", str(majority))
    assert majority.read_text() == ""  # every comparison has a single voter


def test_parquet_and_voter_privacy(filled: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    target = filled / "battles.parquet"
    ftarena(filled, "export", "--format", "parquet", "-o", str(target))
    table = pq.read_table(target)
    assert table.num_rows == 21 and table.column("conversation_a")[0].as_py()[0]["role"] == "user"
    assert not any(j.startswith(("alice", "bob")) for j in table.column("judge").to_pylist())
    raw = ftarena(filled, "export", "--format", "jsonl", "--raw-voters")
    assert '"judge": "alice-0"' in raw
    assert os.path.exists(target)


# Votes in two servers and two channels (channel c1 exists in both), one a day at noon UTC from 1 March 2026, so
# every slice and time window has its own tally. Outcomes are from the fine-tune's point of view.
PLACES = [("g1", "c1", "finetuned"), ("g1", "c1", "base"), ("g1", "c1", "base"), ("g1", "c1", "tie"),
          ("g1", "c2", "base"), ("g1", "c2", "base"), ("g1", "c2", "finetuned"),
          ("g2", "c1", "finetuned"), ("g2", "c1", "finetuned"), ("g2", "c1", "both_bad")]
FIRST_VOTE = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("places")
    asyncio.run(fill_places(folder))
    return folder


async def fill_places(tmp_path: Path) -> None:
    settings = arena_settings(tmp_path, delay_s=0)
    service = build_service(settings, await open_repository(settings.database_url), rng=random.Random(5))
    for day, (server, channel, outcome) in enumerate(PLACES):
        c = await service.compare(f"Question {day}: how do tides work?", "asker",
                                  Place("discord", channel=channel, server=server))
        side = {"finetuned": c.finetuned_side, "base": c.base_side}.get(outcome)
        await service.vote(c.id, f"voter-{day}", side.value if isinstance(side, Side) else outcome,
                           at=FIRST_VOTE + timedelta(days=day))
    await service.aclose()


def tally(board: dict[str, Any]) -> tuple[int, int, int, int]:
    """(fine-tune wins, base wins, ties, both bad) read back from ``leaderboard --json`` (tuned-echo vs base-echo)."""
    n, bias = board["battles"], board["bias"]
    ties, bad = round(bias["tie_share"] * n), round(bias["both_bad_share"] * n)
    tuned = round(board["win_rates"]["tuned-echo"]["base-echo"] * n - (ties + bad) / 2)
    assert bias["decided"] + ties + bad == n and bias["voters"] == n
    return tuned, bias["decided"] - tuned, ties, bad


def test_leaderboard_slices_by_server_and_channel(placed: Path) -> None:
    def board(*where: str) -> dict[str, Any]:
        return json.loads(ftarena(placed, "leaderboard", "--json", "--rounds", "10", *where))

    g1, g2 = board("--server", "g1"), board("--server", "g2")
    c1, g1_c1 = board("--channel", "c1"), board("--server", "g1", "--channel", "c1")
    assert [b["filters"]["sliced"] for b in (g1, g2, c1, g1_c1)] == [7, 3, 7, 4]
    assert [tally(b) for b in (g1, g2, c1, g1_c1)] == [(2, 4, 1, 0), (2, 0, 0, 1), (3, 2, 1, 1), (1, 2, 1, 0)]
    assert {s["votes"] for s in g2["standings"]} == {3}
    # Ties count half: g1 scores 2.5 of 7 for the fine-tune, g2 2.5 of 3, so the two servers disagree.
    for b, share in ((g1, 2.5 / 7), (g2, 2.5 / 3)):
        ratings = {s["model"]: s["rating"] for s in b["standings"]}
        gap = ratings["tuned-echo"] - ratings["base-echo"]
        assert gap == pytest.approx(400 * math.log10(share / (1 - share)), abs=1.0)


def test_leaderboard_until_is_exclusive_and_reads_utc_offsets(placed: Path) -> None:
    before = json.loads(ftarena(placed, "leaderboard", "--json", "--rounds", "10", "--until", "2026-03-04T12:00"))
    assert before["filters"]["sliced"] == 3 and tally(before) == (1, 2, 0, 0)  # days 1-3; day 4's noon vote is out
    # 14:00+02:00 is noon UTC on day 5: days 2-4 are in, day 5 is not.
    window = json.loads(ftarena(placed, "leaderboard", "--json", "--rounds", "10",
                                "--since", "2026-03-02T12:00", "--until", "2026-03-05T14:00+02:00"))
    assert window["filters"]["sliced"] == 3 and tally(window) == (0, 2, 1, 0)
    assert window["query"]["until"] == "2026-03-05T14:00:00+02:00"


# A hand-built battle set in lmsys chatbot_arena_conversations columns: vicuna beats koala in 3 of the 4 decided
# battles (on either side) and ties twice, so it scores 4 of 6 and BT puts it 400*log10(4/2) = 120.4 above.
# The last row names no model_b and must be skipped.
LMSYS_BATTLES = [("vicuna-13b", "koala-13b", "model_a"), ("koala-13b", "vicuna-13b", "model_b"),
                 ("vicuna-13b", "koala-13b", "model_a"), ("koala-13b", "vicuna-13b", "model_a"),
                 ("vicuna-13b", "koala-13b", "tie"), ("koala-13b", "vicuna-13b", "tie (bothbad)"),
                 ("vicuna-13b", None, "model_a")]


def lmsys_rows() -> list[dict[str, Any]]:
    def conversation(answer: str) -> list[dict[str, str]]:
        return [{"content": "Explain tides, please.", "role": "user"}, {"content": answer, "role": "assistant"}]

    return [{"question_id": f"q{i:04d}", "model_a": a, "model_b": b, "winner": winner, "judge": f"arena_user_{i}",
             "conversation_a": conversation(f'The moon pulls, "roughly",\nsays {a}.'),
             "conversation_b": conversation(f"Gravity, says {b}."), "turn": 1, "anony": True, "language": "English",
             "tstamp": 1682351591.1322 + i, "openai_moderation": {"categories": {"violence": False}, "flagged": False},
             "toxic_chat_tag": {"roberta-large": {"flagged": False, "probability": 0.01}}}
            for i, (a, b, winner) in enumerate(LMSYS_BATTLES)]


def write_battles(folder: Path, fmt: str) -> Path:
    rows, target = lmsys_rows(), folder / f"battles.{fmt}"
    if fmt == "json":
        target.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    elif fmt == "jsonl":
        target.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "csv":
        # As pandas' to_csv leaves it: nested columns as text, a missing model as an empty cell.
        with target.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
                             for r in rows)
    else:
        pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
        pq.write_table(pa.Table.from_pylist(rows), target)
    return target


def test_public_battle_files_in_every_format_rate_the_same(tmp_path: Path) -> None:
    files = {fmt: write_battles(tmp_path, fmt) for fmt in ("jsonl", "json", "csv", "parquet")}
    boards = {fmt: json.loads(ftarena(tmp_path, "leaderboard", "--json", "--battles", str(path)))
              for fmt, path in files.items()}
    board = boards["jsonl"]
    assert board["battles"] == 6
    assert board["filters"] == {"sliced": 7, "kept": 6, "removed": {"rows without models or a known winner": 1}}
    assert [(s["model"], s["votes"], s["rank"]) for s in board["standings"]] == [("vicuna-13b", 6, 1),
                                                                                 ("koala-13b", 6, 1)]
    ratings = {s["model"]: s["rating"] for s in board["standings"]}
    assert ratings["vicuna-13b"] - ratings["koala-13b"] == pytest.approx(400 * math.log10(4 / 2), abs=1.0)
    assert board["win_rates"]["vicuna-13b"]["koala-13b"] == pytest.approx(4 / 6)
    assert board["bias"] == {"a_side_win_rate": 0.75, "decided": 4, "tie_share": pytest.approx(1 / 6),
                             "both_bad_share": pytest.approx(1 / 6), "voters": 0, "median_votes_per_voter": None,
                             "max_votes_per_voter": 0}

    def rounded(b: dict[str, Any]) -> dict[str, Any]:
        standings = [{k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()} for s in b["standings"]]
        return {**b, "standings": standings}

    for fmt in ("json", "csv", "parquet"):
        assert rounded(boards[fmt]) == rounded(board), fmt


def _wrong_shapes(folder: Path) -> dict[str, tuple[Path, str]]:
    """Battle files of the wrong shape, and what the error must say of each."""
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    wrapped, lines, no_winner, not_csv = (folder / name for name in ("wrapped.json", "lists.jsonl",
                                                                       "no-winner.parquet", "votes.csv"))
    wrapped.write_text(json.dumps({"data": lmsys_rows()}), encoding="utf-8")
    lines.write_text("[1, 2]\n", encoding="utf-8")
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "winner"} for r in lmsys_rows()]),
                   no_winner)
    not_csv.write_text("name,score\nada,3\n", encoding="utf-8")
    return {"json object": (wrapped, "a .json battle file is a list of battles, not a dict"),
            "jsonl list": (lines, "a battle is an object with model_a, model_b, winner, not list"),
            "parquet": (no_winner, "no winner column"), "csv": (not_csv, "no model_a, model_b, winner column")}


def test_battle_files_of_the_wrong_shape_get_a_clear_error(tmp_path: Path) -> None:
    for kind, (path, reason) in _wrong_shapes(tmp_path).items():
        result = run_ftarena(["leaderboard", "--battles", str(path)], tmp_path)
        said = " ".join(result.stderr.split())  # Rich wraps the message at the terminal width
        assert result.returncode == 2 and "not a battle file in the arena schema" in said, (kind, said)
        assert reason in said and "Traceback" not in said, (kind, said)


def test_a_spreadsheets_csv_with_a_byte_order_mark_reads_the_same(tmp_path: Path) -> None:
    plain = write_battles(tmp_path, "csv")
    marked = tmp_path / "excel.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())  # "CSV UTF-8" as spreadsheets save it
    boards = [json.loads(ftarena(tmp_path, "leaderboard", "--json", "--battles", str(path)))
              for path in (plain, marked)]
    assert boards[0]["battles"] == 6 and boards[1] == boards[0]


def test_slice_options_with_a_battle_file_are_refused_not_ignored(tmp_path: Path) -> None:
    result = run_ftarena(["leaderboard", "--battles", str(write_battles(tmp_path, "jsonl")), "--server", "g1"],
                         tmp_path)
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "--battles rates the whole file" in said, said


def test_the_leaderboard_table_shows_what_the_json_says(filled: Path) -> None:
    board = json.loads(ftarena(filled, "leaderboard", "--json"))
    table = ftarena(filled, "leaderboard")
    rows = {line.split("│")[2].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
            for line in table.splitlines() if line.count("│") == 6}
    for s in board["standings"]:
        assert rows[s["model"]] == [str(s["rank"]), s["model"], f"{s['rating']:.0f}",
                                    f"{s['ci_low']:.0f}–{s['ci_high']:.0f}", str(s["votes"])], table
    filters = board["filters"]
    assert f"{filters['sliced']} votes in this slice, {filters['kept']} kept after filters" in table, table
    assert "95% Wilson interval" in table  # and the per-matchup win rates after it


STYLE_KEYS = {"style_rating", "style_ci_low", "style_ci_high", "style_rank"}


def test_style_leaderboard_json_adds_style_columns_coefficients_and_verdicts(filled: Path) -> None:
    board = json.loads(ftarena(filled, "leaderboard", "--style", "--json", "--drop-outliers"))
    assert board["standings"] and all(set(s) >= STYLE_KEYS for s in board["standings"])
    for s in board["standings"]:
        assert s["style_ci_low"] <= s["style_rating"] <= s["style_ci_high"] and s["style_rank"] >= 1
    assert set(board["style_coefficients"]) == {"length", "header", "list", "bold"}
    assert board["style_intervals"] == "sandwich"
    assert list(board["matchups"]) == ["pair"]
    matchup = board["matchups"]["pair"]
    # 20 kept votes: 12 won, 4 lost, 4 tied, so the fine-tune scores 14 of 20.
    assert matchup["votes"] == 20 and matchup["win_rate"] == pytest.approx(0.7)
    assert 0 < matchup["lc_win_rate"] < 1 and matchup["decision_text"].startswith("undecided — about ")
    assert board["outliers"] == {"voters_tested": 20, "flagged": 0, "votes": 0, "dropped": True}
    assert board["filters"]["removed"]["outlier voters"] == 0
    plain = json.loads(ftarena(filled, "leaderboard", "--json", "--rounds", "10"))
    assert "style_coefficients" not in plain and STYLE_KEYS.isdisjoint(plain["standings"][0])
    booted = json.loads(ftarena(filled, "leaderboard", "--style", "--json", "--rounds", "20"))
    assert booted["style_intervals"] == "bootstrap"


def test_style_leaderboard_text_shows_raw_and_style_side_by_side_with_coefficients_in_words(filled: Path) -> None:
    board = json.loads(ftarena(filled, "leaderboard", "--style", "--json"))
    table = ftarena(filled, "leaderboard", "--style")
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
            for line in table.splitlines() if line.count("│") == 7}
    for s in board["standings"]:
        assert rows[s["model"]] == [s["model"], str(s["rank"]), f"{s['rating']:.0f}", str(s["style_rank"]),
                                    f"{s['style_rating']:.0f}", f"{s['style_ci_low']:.0f}–{s['style_ci_high']:.0f}"]
    said = " ".join(table.split())
    assert "longer answers: " in said and " logit per SD" in said
    assert "length-controlled" in said and "undecided — about" in said and "Outlier voters: none of 20" in said


def test_a_battle_file_with_conv_metadata_gives_the_databases_style_ratings(filled: Path) -> None:
    battles = filled / "styled.jsonl"
    ftarena(filled, "export", "--format", "jsonl", "-o", str(battles))
    from_file = json.loads(ftarena(filled, "leaderboard", "--json", "--style", "--battles", str(battles)))
    from_db = json.loads(ftarena(filled, "leaderboard", "--json", "--style", "--keep-all"))
    assert {s["model"]: round(s["style_rating"], 3) for s in from_file["standings"]} == \
        {s["model"]: round(s["style_rating"], 3) for s in from_db["standings"]}
    assert from_file["style_coefficients"] == pytest.approx(from_db["style_coefficients"])
    bare = filled / "bare.jsonl"
    bare.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "conv_metadata"}) + "\n"
                            for line in battles.read_text().splitlines()))
    result = run_ftarena(["leaderboard", "--style", "--battles", str(bare)], filled)
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "--style needs battles with conv_metadata" in said, said
