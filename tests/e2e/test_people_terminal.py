"""Votes and people from the terminal, as a user runs them: ``/why`` in ``ftarena chat``, ``/arena-forget-me``,
``ftarena forget VOTER_ID [--dry-run]``, and the installation's secret salt; real processes, real SQLite."""

from __future__ import annotations

import io
import json
import sqlite3
import tomllib
from pathlib import Path

from adapters.bootstrap import open_service, parse_settings
from bot.domain import Place
from bot.export import SALT, pseudonym
from tests.e2e.test_console_chat import ECHO, run_ftarena


def ftarena(args: list[str], tmp_path: Path, stdin: str = "") -> tuple[str, str]:
    """Run with the echo matchup and verbose JSON logs; returns (stdout, stderr), after checking it succeeded."""
    config = tmp_path / "echo.toml"
    config.write_text(ECHO)
    result = run_ftarena(["--config", str(config), "-vv", "--log-format", "json", *args], tmp_path, stdin,
                         timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def rows_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def words(text: str) -> str:
    """``text`` with rich's line wrapping undone."""
    return " ".join(text.split())


def test_why_stores_and_replaces_the_reason_of_the_last_vote_and_exports_it(tmp_path: Path) -> None:
    out, _ = ftarena(["chat", "--user", "alice"], tmp_path, "\n".join([
        "/why too early", "Tell me how to train my dog to sit", "a", "/why", "/why A answered,\\nB repeated itself",
        "/why A answered; B repeated the question", f"/export jsonl {tmp_path / 'votes.jsonl'}", "/quit"]) + "\n")
    assert "Vote first, then say why" in out and "Usage: /why TEXT" in out
    assert "Your reason is recorded: “A answered,\nB repeated itself”" in out
    [row] = rows_of(tmp_path / "votes.jsonl")
    assert row["feedback"] == "A answered; B repeated the question" and row["winner"] == "model_a"


def test_forget_from_the_chat_and_the_cli_leaves_nothing_and_logs_no_id(tmp_path: Path) -> None:
    ftarena(["chat", "--user", "carol-7731"], tmp_path, "What do you think of Mars?\nb\n/why B is kinder\n"
                                                       f"/export jsonl {tmp_path / 'carol.jsonl'}\n/quit\n")
    assert "B is kinder" in (tmp_path / "carol.jsonl").read_text()

    out, logs = ftarena(["forget", "carol-7731", "--dry-run"], tmp_path)
    assert ("Would delete: 1 vote(s) (1 with a reason), 1 comparison(s) they asked for, and 0 vote(s) others gave"
            in words(out))
    out, logs = ftarena(["forget", "carol-7731"], tmp_path)
    assert "Deleted: 1 vote(s) (1 with a reason), 1 comparison(s)" in words(out)
    assert "forgot a member" in logs and "carol-7731" not in logs

    out, logs = ftarena(["chat", "--user", "dave-5519"], tmp_path, "\n".join([
        "taylor swift's best friend", "tie", "What do you think of Mars?", "a",
        f"/export jsonl {tmp_path / 'before.jsonl'}", "/arena-forget-me", "/arena-forget-me confirm",
        f"/export jsonl {tmp_path / 'after.jsonl'}", "/quit"]) + "\n")
    before = rows_of(tmp_path / "before.jsonl")
    assert len(before) == 2 and "B is kinder" not in json.dumps(before)  # carol's vote, reason and comparison went
    assert {row["judge"] for row in before} != {row["judge"] for row in rows_of(tmp_path / "carol.jsonl")}
    assert "It cannot be undone" in words(out) and "Type /arena-forget-me confirm" in words(out)
    assert "Deleted: 2 votes (0 with a reason), 2 comparisons you asked for and 0 votes others gave" in words(out)
    assert "forgot a member" in logs and "dave-5519" not in logs
    assert rows_of(tmp_path / "after.jsonl") == []
    with sqlite3.connect(tmp_path / "arena.db") as db:
        assert db.execute("SELECT count(*) FROM comparisons").fetchone() == (0,)


async def test_pseudonyms_use_a_salt_generated_once_per_installation(tmp_path: Path) -> None:
    data = {**tomllib.loads(ECHO), "database": {"url": f"sqlite:///{tmp_path / 'arena.db'}"}}

    async def judge(env: dict[str, str]) -> tuple[str, str]:
        service = await open_service(parse_settings(data, env))
        try:
            if not await service.repository.votes_on(comparison_id):
                await service.vote(comparison_id, "erin", "a")
            out = io.StringIO()
            await service.export("jsonl", out)
            return service.export_salt, json.loads(out.getvalue())["judge"]
        finally:
            await service.aclose()

    first = await open_service(parse_settings(data, {}))  # the first start generates the salt
    comparison_id = (await first.compare("What do you think of Mars?", "erin", Place("console"))).id
    await first.aclose()
    salt, shown = await judge({})
    with sqlite3.connect(tmp_path / "arena.db") as db:
        assert db.execute("SELECT value FROM installation WHERE key = 'export_salt'").fetchall() == [(salt,)]
    assert len(salt) >= 32 and shown == pseudonym("erin", salt) != pseudonym("erin", SALT)
    assert await judge({}) == (salt, shown)  # the installation keeps its salt from one start to the next
    configured = await judge({"FTARENA_ARENA__EXPORT_SALT": "from-the-config"})
    assert configured == ("from-the-config", pseudonym("erin", "from-the-config"))  # the config wins
