"""``ftarena leaderboard/report/export`` on a database filled through the real service and storage."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
from pathlib import Path

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


def test_preference_exports_load_with_datasets(filled: Path) -> None:
    datasets = pytest.importorskip("datasets")
    dpo, kto = filled / "dpo.jsonl", filled / "kto.jsonl"
    ftarena(filled, "export", "--format", "dpo", "-o", str(dpo))
    ftarena(filled, "export", "--format", "kto", "-o", str(kto))
    rows = datasets.load_dataset("json", data_files=str(dpo), split="train")
    assert rows.column_names == ["prompt", "chosen", "rejected"] and len(rows) == 17  # 16 decided + the leak
    assert sum("Here is a clear answer" in r["chosen"] for r in rows) == 13
    labels = datasets.load_dataset("json", data_files=str(kto), split="train")
    assert set(labels.column_names) == {"prompt", "completion", "label"} and len(labels) == 34
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
