"""``ftarena chat`` as a user runs it: a real process, real embedded models, piped commands, real SQLite."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FTARENA = [sys.executable, "-m", "adapters.cli"]


def run_ftarena(args: list[str], tmp_path: Path, stdin: str = "", extra_env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FTARENA_DATABASE__URL": f"sqlite:///{tmp_path / 'arena.db'}", "COLUMNS": "120",
           "FTARENA_MODELS__GEMMA_3_270M__MAX_TOKENS": "24",
           "FTARENA_MODELS__SMOLLM2_135M_INSTRUCT__MAX_TOKENS": "24", **(extra_env or {})}
    return subprocess.run(FTARENA + args, input=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=tmp_path, check=False)


@pytest.mark.slow
def test_chat_compare_vote_change_tally_export_on_real_models(tmp_path: Path) -> None:
    export = tmp_path / "votes.csv"
    script = "\n".join([
        "/models", "Tell me how to train my dog to sit", "a", "/vote b", "/vote zz", "/compare   ",
        "/leaderboard", f"/export csv {export}", "/quit", "this line is never read",
    ]) + "\n"
    result = run_ftarena(["chat", "--user", "alice"], tmp_path, script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "embedded (default)" in out and "gemma-3-270m" in out
    assert "Prompt: Tell me how to train my dog to sit" in out
    assert "Vote recorded: a." in out and "Vote changed from a to b." in out
    assert "Unknown vote 'zz'" in out and "The prompt is empty" in out
    assert "Wrote 1 vote(s)" in out and "llama_" not in result.stderr

    with sqlite3.connect(tmp_path / "arena.db") as db:
        comparisons = db.execute("SELECT id, status, base_side FROM comparisons").fetchall()
        replies = db.execute("SELECT side, model, length(text), tokens, error FROM replies ORDER BY side").fetchall()
        votes = db.execute("SELECT voter, choice, previous_choice, changes FROM votes").fetchall()
    assert len(comparisons) == 1 and comparisons[0][1] == "done"
    assert {r[1] for r in replies} == {"gemma-3-270m", "smollm2-135m-instruct"}
    assert all(length > 0 and tokens > 0 and error is None for _, _, length, tokens, error in replies)
    assert votes == [("alice", "b", "a", 1)]

    [row] = list(csv.DictReader(export.open(encoding="utf-8")))
    assert row["question_id"] == comparisons[0][0] and row["winner"] == "model_b" and row["judge"] != "alice"


def test_bad_config_is_one_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[arena]\nrate_limit = "lots"\n')
    result = run_ftarena(["--config", str(config), "models"], tmp_path)
    assert result.returncode == 2
    assert "Config error at arena.rate_limit: must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


# Two echo models: one repeats the prompt, the other wraps it in Llama 2's chat tags.
ECHO = '''
[arena]
default_matchup = "echo"
[models.parrot-base]
provider = "echo"
model = "parrot"
reply = "{prompt} {prompt}"
[models.parrot-chat]
provider = "echo"
model = "parrot-chat"
template = "[INST] {prompt} [/INST]"
[matchups.echo]
base = "parrot-base"
finetuned = "parrot-chat"
'''


def test_one_shot_compare_and_export_with_a_configured_provider(tmp_path: Path) -> None:
    config = tmp_path / "echo.toml"
    config.write_text(ECHO)
    result = run_ftarena(["--config", str(config), "compare", "--json", "What do you think of Mars?"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "What do you think of Mars? What do you think of Mars?" in result.stdout
    assert "parrot-chat says: [INST] What do you think of Mars? [/INST]" in result.stdout
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")
    chat = run_ftarena(["--config", str(config), "chat"], tmp_path,
                       f"/export bogus {keep}\n/export csv {tmp_path}/no/such/dir/x.csv\n/models\n")
    assert chat.returncode == 0 and keep.read_text() == "precious"
    assert "Unknown export format 'bogus'" in chat.stdout and "Cannot write" in chat.stdout
    assert "parrot-base" in chat.stdout  # the session went on after both errors
    empty = run_ftarena(["--config", str(config), "compare", "\u200b "], tmp_path)
    assert empty.returncode == 2 and "no visible text" in empty.stderr
    exported = run_ftarena(["--config", str(config), "export", "--format", "jsonl"], tmp_path)
    assert exported.returncode == 0 and exported.stdout == ""  # no votes yet, nothing lost or invented
