"""``ftarena chat`` on a real pseudo-terminal (what piped input cannot show): pastes, Ctrl-C, Ctrl-D, width."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

PROMPT = "you>"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
CONFIG = """
[arena]
default_matchup = "pair"
max_prompt_chars = 8000
[models.gemma-3-270m-base-echo]
provider = "echo"
model = "base"
reply = "it rambles on about {prompt}"
max_tokens = 20000
[models.smollm2-135m-instruct-echo]
provider = "echo"
model = "tuned"
reply = "A clear answer to: {prompt}"
max_tokens = 20000
[models.slow-echo]
provider = "echo"
model = "slow"
reply = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
delay_s = 0.5
timeout_s = 30
[matchups.pair]
base = "gemma-3-270m-base-echo"
finetuned = "smollm2-135m-instruct-echo"
[matchups.slow]
base = "gemma-3-270m-base-echo"
finetuned = "slow-echo"
"""


@contextlib.contextmanager
def terminal_chat(tmp_path: Path, config_text: str, columns: int = 80) -> Iterator[Any]:
    """``ftarena chat --user tess`` on a pseudo-terminal of ``columns`` columns, on ``config_text`` with a SQLite
    database in ``tmp_path``; yielded at its first prompt."""
    config = tmp_path / "arena.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "arena.db"}"\n' + config_text)
    # pexpect is no terminal emulator: it cannot answer prompt_toolkit's cursor-position requests.
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(columns), "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "adapters.cli", "--config", str(config), "chat", "--user", "tess"],
                          cwd=str(Path(__file__).parents[2]), env=env, encoding="utf-8", timeout=60,
                          dimensions=(40, columns))
    screen = (tmp_path / "screen.txt").open("w", encoding="utf-8")  # what the terminal showed, for a failing test
    child.logfile_read = screen
    child.expect_exact(PROMPT)
    try:
        yield child
    finally:
        child.close(force=True)
        screen.close()


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[Any]:
    with terminal_chat(tmp_path, CONFIG) as child:
        yield child


def rows(tmp_path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "arena.db") as db:
        return db.execute(query).fetchall()


def test_a_pasted_multi_line_prompt_is_one_comparison(chat: Any, tmp_path: Path) -> None:
    chat.send(f"{PASTE_START}Line one of the paste\nline two\nline three{PASTE_END}")
    chat.send("\r")
    chat.expect_exact("Vote: a, b, tie or bad")
    chat.expect_exact(PROMPT)
    chat.send("a\r")
    chat.expect_exact("Votes on this comparison: A 1")
    assert rows(tmp_path, "SELECT prompt FROM comparisons") == [("Line one of the paste\nline two\nline three",)]
    assert rows(tmp_path, "SELECT choice FROM votes") == [("a",)]


def test_a_paste_longer_than_the_terminal_line_buffer_arrives_whole(chat: Any, tmp_path: Path) -> None:
    long = " ".join(f"word{i:04d}" for i in range(700))  # 6,299 characters: past the 4,095 of a cooked tty
    chat.send(PASTE_START)
    for start in range(0, len(long), 500):
        chat.send(long[start:start + 500])
    chat.send(PASTE_END + "\r")
    chat.expect_exact("Vote: a, b, tie or bad", timeout=120)
    [(prompt,)] = rows(tmp_path, "SELECT prompt FROM comparisons")
    assert prompt == long


def test_ctrl_c_stops_the_streaming_comparison_then_ctrl_c_again_quits(chat: Any, tmp_path: Path) -> None:
    chat.send("/matchup slow\r")
    chat.expect_exact("Matchup is now")
    chat.expect_exact(PROMPT)
    chat.send("Count to fifteen\r")
    chat.expect_exact("generating…")  # the slow model is streaming
    chat.sendintr()
    chat.expect_exact("Stopped")
    chat.expect_exact(PROMPT)
    assert rows(tmp_path, "SELECT status FROM comparisons") == [("cancelled",)]
    assert rows(tmp_path, "SELECT count(*) FROM replies WHERE text != ''") == [(0,)]  # nothing half-stored
    chat.send("/vote a\r")  # the stopped comparison is not one to vote on
    chat.expect_exact("Nothing to vote on yet")
    chat.sendintr()
    chat.expect_exact("Ctrl-C again or Ctrl-D to quit")
    chat.sendintr()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_ctrl_d_quits_and_a_blank_line_says_why_nothing_ran(chat: Any, tmp_path: Path) -> None:
    chat.send("   \r")
    chat.expect_exact("The prompt is empty")
    chat.expect_exact(PROMPT)  # the line editor reads again (a Ctrl-D typed before it would reach nobody)
    chat.sendeof()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0 and rows(tmp_path, "SELECT count(*) FROM comparisons") == [(0,)]


def test_eighty_columns_split_no_model_name(chat: Any) -> None:
    chat.send("/compare hi\r")
    chat.expect_exact(PROMPT)
    chat.send("b\r")
    chat.expect_exact("Votes on this comparison: A 0 · B 1")
    chat.expect_exact(PROMPT)
    chat.send("/leaderboard\r")
    chat.expect_exact("W/L: fine-tuned won/lost")
    table = chat.before
    for name in ("smollm2-135m-instruct-echo", "gemma-3-270m-base-echo"):
        assert name in table, table
    # One vote decides nothing; the projection says how far a decision is.
    chat.expect(r"pair: length-controlled win rate \d+%; undecided\s+—\s+about")
    chat.send("/models\r")
    chat.expect_exact("Matchups")
    chat.expect_exact(PROMPT)
    assert "smollm2-135m-instruct-echo" in chat.before and "slow-echo" in chat.before
