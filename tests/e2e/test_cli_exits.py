"""``ftarena`` as scripts run it: exit statuses that tell failures apart, errors before any output, and what the
preference exports leave out."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.e2e.test_console_chat import run_ftarena

CONFIG = """
[arena]
default_matchup = "pair"
[models.base-echo]
provider = "echo"
model = "base"
reply = "a rambling reply that goes on and on and on"
max_tokens = 5
[models.tuned-echo]
provider = "echo"
model = "tuned"
reply = "A clear answer."
[models.broken]
provider = "echo"
model = "broken"
fail = "always"
[matchups.pair]
base = "base-echo"
finetuned = "tuned-echo"
[matchups.down]
base = "broken"
finetuned = "broken-too"
[models.broken-too]
provider = "echo"
model = "broken-too"
fail = "always"
"""


def ftarena(tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    config = tmp_path / "arena.toml"
    config.write_text(CONFIG)
    result = run_ftarena(["--config", str(config), *args], tmp_path, stdin)
    return result.returncode, result.stdout, result.stderr


def test_compare_exits_1_when_both_models_fail_and_0_when_they_answer(tmp_path: Path) -> None:
    code, out, _ = ftarena(tmp_path, "compare", "--matchup", "down", "hi")
    assert code == 1 and "Both models failed" in out
    code, out, _ = ftarena(tmp_path, "compare", "hi")
    assert code == 0 and "A clear answer." in out


def test_models_check_exits_1_and_names_the_models_that_cannot_answer(tmp_path: Path) -> None:
    code, out, err = ftarena(tmp_path, "models", "--check")
    assert code == 1 and "reachable" in out
    assert "2 of 4 model(s) cannot answer: broken, broken-too" in " ".join(err.split())


def test_an_unknown_matchup_is_refused_before_any_table(tmp_path: Path) -> None:
    code, out, err = ftarena(tmp_path, "leaderboard", "--matchup", "nope")
    assert code == 2 and out == "" and "No matchup named 'nope'" in err


def test_an_unreachable_database_exits_3(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    code, _, err = ftarena(tmp_path, "--database", f"postgresql://nobody@127.0.0.1:{port}/none", "leaderboard")
    assert code == 3 and "database" in err.lower()


def test_preference_exports_leave_cut_replies_out_and_say_so(tmp_path: Path) -> None:
    script = "A question\na\n/quit\n"  # the base model's reply is cut at 5 words; the vote prefers it (a or b)
    code, out, err = ftarena(tmp_path, "chat", "--user", "ann", stdin=script)
    assert code == 0, err
    target = tmp_path / "dpo.jsonl"
    code, out, _ = ftarena(tmp_path, "export", "--format", "dpo", "-o", str(target))
    assert code == 0 and target.read_text() == ""
    assert "Left out 1 comparison(s): a reply cut at the length limit (--include-cut keeps them)." in out
    code, out, _ = ftarena(tmp_path, "export", "--format", "dpo", "--include-cut", "-o", str(target))
    [row] = [json.loads(line) for line in target.read_text().splitlines()]
    assert code == 0 and "a rambling reply that" in (row["chosen"] + row["rejected"]) and "Left out" not in out
