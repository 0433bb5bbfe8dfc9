"""``ftarena judge --backfill`` and ``ftarena leaderboard --judge/--source`` as processes, the judge model behind the
OpenAI-compatible judge peer on 127.0.0.1, on a database filled through the real service."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters import cli
from adapters.bootstrap import build_service, load_settings, open_repository
from bot.domain import Place
from tests.e2e.test_console_chat import run_ftarena
from tests.peers.fake_judge import JudgePeer

CONFIG = """
[arena]
default_matchup = "pair"

[models.base-echo]
provider = "echo"
model = "base"
reply = "{{prompt}} and then it rambles on and on"

[models.tuned-echo]
provider = "echo"
model = "tuned"
reply = "Here is a clear answer to: {{prompt}}"

[models.other-echo]
provider = "echo"
model = "other"
reply = "Another clear answer"

[models.judge]
provider = "openai"
model = "judge-llm"
template = "chat"
base_url = "{url}"
retries = 1

[matchups.pair]
base = "base-echo"
finetuned = "tuned-echo"

[matchups.other]
base = "base-echo"
finetuned = "other-echo"

[judge]
model = "judge"
mode = "off"
workers = 2
"""
# The members' majority on each "pair" comparison, from the fine-tune's side; the peer judge always prefers the
# fine-tune's (clear) answer.
MAJORITIES = ("finetuned", "finetuned", "base")


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, JudgePeer]]:
    folder = tmp_path_factory.mktemp("judge")
    peer = JudgePeer()
    with peer.in_thread() as url:
        config = folder / "arena.toml"
        config.write_text(CONFIG.format(url=url), encoding="utf-8")
        asyncio.run(fill(folder, config))
        yield folder, config, peer


async def fill(folder: Path, config: Path) -> None:
    settings = load_settings(config, {"FTARENA_DATABASE__URL": f"sqlite:///{folder / 'arena.db'}"})
    service = build_service(settings, await open_repository(settings.database_url), rng=random.Random(3))
    try:
        for i, majority in enumerate(MAJORITIES):
            c = await service.compare(f"Question {i}", "asker", Place("cli"), "pair")
            side = c.finetuned_side if majority == "finetuned" else c.base_side
            await service.vote(c.id, f"voter-{i}", side.value)
        await service.compare("Question on the other pair", "asker", Place("cli"), "other")
    finally:
        await service.aclose()


@pytest.fixture
def ftarena(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``ftarena ARGS`` in this process (as ``ftarena`` runs it, less the 2 s start of a new interpreter), with its
    output; the first test runs the real command once as a process."""
    monkeypatch.setenv("COLUMNS", "120")

    def run(folder: Path, *args: str, status: int = 0) -> str:
        code = cli.run([*args, "--database", f"sqlite:///{folder / 'arena.db'}"])
        captured = capsys.readouterr()
        assert code == status, captured.err + captured.out
        return captured.out + captured.err

    return run


def judged(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / "arena.db") as db:
        rows = db.execute("SELECT c.matchup, j.status, j.text_first, j.text_second FROM judgements j "
                          "JOIN comparisons c ON c.id = j.comparison_id ORDER BY c.created_at").fetchall()
    # The judge's raw words are kept, both orders, as the peer streamed them.
    assert all(first.endswith("[[B]]") != second.endswith("[[B]]")
               for _, status, first, second in rows if status == "verdict"), rows
    return [(matchup, status) for matchup, status, _, _ in rows]


def test_backfill_with_limit_and_matchup_then_agreement_and_ratings_by_source(
        arena: tuple[Path, Path, JudgePeer], ftarena: Callable[..., str]) -> None:
    folder, config, peer = arena
    process = run_ftarena(["judge", "--backfill", "--limit", "2", "--matchup", "pair", "--config", str(config)],
                          folder)
    assert process.returncode == 0, process.stderr
    assert "Judged 2 comparison(s) with judge: 2 verdict." in process.stdout
    assert judged(folder) == [("pair", "verdict")] * 2 and len(peer.requests) == 4  # both orders each
    out = ftarena(folder, "judge", "--backfill", "--matchup", "pair", "--config", str(config))
    assert "Judged 1 comparison(s)" in out and len(judged(folder)) == 3
    assert "Nothing to judge" in ftarena(folder, "judge", "--backfill", "--matchup", "pair", "--config", str(config))

    board = json.loads(ftarena(folder, "leaderboard", "--judge", "--json", "--matchup", "pair", "--config",
                               str(config)))
    found = board["judge"]["agreement"]
    assert board["judge"]["judge"] == "judge" and board["judge"]["source"] == "human"
    assert (found["judged"], found["compared"], found["consistency"]) == (3, 3, 1.0)
    assert found["agreement"] == pytest.approx(2 / 3) and found["agreement_without_ties"] == pytest.approx(2 / 3)
    assert found["confusion"]["finetuned"]["finetuned"] == 2 and found["confusion"]["base"]["finetuned"] == 1
    assert found["kappa"] == pytest.approx(0.0)  # the judge always says the same: no agreement beyond chance

    elsewhere = json.loads(ftarena(folder, "leaderboard", "--judge", "--json", "--platform", "discord", "--config",
                                   str(config)))
    assert elsewhere["judge"]["agreement"]["judged"] == 0  # every comparison was asked in the terminal

    by_judge = json.loads(ftarena(folder, "leaderboard", "--source", "judge", "--json", "--matchup", "pair",
                                  "--config", str(config)))
    assert [s["model"] for s in by_judge["standings"]] == ["tuned-echo", "base-echo"]
    assert by_judge["judge"]["source"] == "judge" and by_judge["standings"][0]["votes"] == 3

    text = ftarena(folder, "leaderboard", "--judge", "--matchup", "pair", "--config", str(config))
    assert "Agrees with the members' majority on 67% of 3 comparison(s)" in text
    assert "Position consistency: 100%" in text
    assert "Confusion matrix: the members' majority (rows) against the judge's pick (columns)" in text


def test_a_backfill_whose_judge_cannot_answer_records_the_failures_and_exits_1(
        arena: tuple[Path, Path, JudgePeer], ftarena: Callable[..., str]) -> None:
    folder, config, peer = arena
    peer.behaviour = "fail"
    try:
        out = ftarena(folder, "judge", "--backfill", "--matchup", "other", "--config", str(config), status=1)
    finally:
        peer.behaviour = "prefer"
    assert "Judged 1 comparison(s) with judge: 1 failed." in out and "could not answer" in out
    assert ("other", "failed") in judged(folder)
    # A failure may pass: the next backfill tries again.
    assert "1 verdict" in ftarena(folder, "judge", "--backfill", "--matchup", "other", "--config", str(config))


def test_judge_commands_refuse_clearly_without_a_judge_or_the_backfill_flag(
        arena: tuple[Path, Path, JudgePeer], ftarena: Callable[..., str]) -> None:
    folder, config, _ = arena
    out = ftarena(folder, "judge", "--backfill", status=2)  # built-in config: no [judge]
    assert "No judge is configured" in out and "Traceback" not in out
    assert "No judge is configured" in ftarena(folder, "leaderboard", "--source", "both", status=2)
    assert "not from a --battles file" in ftarena(folder, "leaderboard", "--judge", "--battles", "x.csv", status=2)
    with pytest.raises(SystemExit) as usage:  # argparse's own refusal
        ftarena(folder, "judge", "--config", str(config))
    assert usage.value.code == 2
    assert "--limit must be at least 1" in ftarena(folder, "judge", "--backfill", "--limit", "0", "--config",
                                                   str(config), status=2)
    assert "No matchup named 'nope'" in ftarena(folder, "judge", "--backfill", "--matchup", "nope", "--config",
                                                str(config), status=2)


def test_the_report_page_and_json_carry_the_judges_agreement(
        arena: tuple[Path, Path, JudgePeer], ftarena: Callable[..., str]) -> None:
    folder, config, _ = arena
    ftarena(folder, "judge", "--backfill", "--config", str(config))  # judged already or not: every test stands alone
    out = folder / "report"
    ftarena(folder, "report", "--matchup", "pair", "-o", str(out), "--config", str(config))
    page = (out / "index.html").read_text(encoding="utf-8")
    section = page[page.index('<h2 id="judge">'):]
    assert "Agrees with the members&#x27; majority on 67% of 3 comparison(s)" in section
    assert "<td>members: base</td><td>1</td><td>0</td><td>0</td>" in section and section.endswith("</html>\n")
    data = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert data["judge"]["agreement"]["compared"] == 3 and data["standings"]
