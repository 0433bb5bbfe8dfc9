"""The ``ftarena`` command line: global options before or after the command, and an example in every help."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from adapters import cli

GLOBALS = ["--config", "arena.toml", "--database", "sqlite:///x.db", "-v", "--log-format", "json"]


def commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize(("before", "after"), [
    (["compare"], ["a prompt"]),
    (["leaderboard", "--json"], []),
    (["export", "--format", "csv"], ["-o", "votes.csv"]),
    (["serve", "discord"], ["--http"]),
    (["models"], []),
])
def test_global_options_mean_the_same_before_and_after_the_command(before: list[str], after: list[str]) -> None:
    first = cli._parser().parse_args([*GLOBALS, *before, *after])
    last = cli._parser().parse_args([*before, *GLOBALS, *after])
    assert vars(first) == vars(last)
    assert (last.config, last.database, last.verbose, last.log_format) == ("arena.toml", "sqlite:///x.db", 1, "json")


def test_defaults_hold_when_no_global_option_is_given() -> None:
    args = cli._parser().parse_args(["compare", "hi"])
    assert (args.config, args.database, args.verbose, args.log_format) == (None, None, 0, "text")


def test_after_the_command_wins() -> None:
    args = cli._parser().parse_args(["--config", "a.toml", "--log-format", "json", "-vv",
                                     "compare", "--config", "b.toml", "hi"])
    assert args.config == "b.toml"
    assert (args.log_format, args.verbose) == ("json", 2)  # not repeated after the command: kept
    assert cli._parser().parse_args(["-vv", "demo", "-v"]).verbose == 1


def test_the_rule_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["compare", "--help"])
    assert "after the command wins" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_help_ends_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli._parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert lines[-2] == "Example:"
    assert f"ftarena {name}" in lines[-1]
    # The example itself parses.
    cli._parser().parse_args(shlex.split(lines[-1].split("ftarena ", 1)[1]))


def test_main_help_ends_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["--help"])
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert lines[-2] == "Example:" and "ftarena " in lines[-1]


def test_config_after_the_command_is_the_one_loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end through run(): `ftarena models --config FILE` lists FILE's matchups (once an argparse error)."""
    monkeypatch.setattr(cli, "setup_logging", lambda level, fmt: None)  # keep the test process's logging as it is
    config = tmp_path / "arena.toml"
    config.write_text('[arena]\ndefault_matchup = "mine"\n'
                      '[models.b]\nprovider = "echo"\nmodel = "b"\n[models.t]\nprovider = "echo"\nmodel = "t"\n'
                      '[matchups.mine]\nbase = "b"\nfinetuned = "t"\n')
    assert cli.run(["models", "--config", str(config)]) == 0
    assert "mine (default)" in capsys.readouterr().out

