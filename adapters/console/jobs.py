"""One-shot terminal jobs behind ``ftarena compare|demo|leaderboard|report|export|models --check``."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import getpass
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters import charts
from adapters.console import judge_jobs, render
from adapters.console.file_verdicts import VERDICT_COLUMNS, file_verdicts
from bot import export
from bot.domain import Place, Status
from bot.errors import ArenaError
from bot.seed import SEED_PROMPTS
from bot.service import ArenaService
from bot.statistics import bradley_terry
from bot.statistics.battles import count_battles
from bot.statistics.report import ArenaReport, report_json
from bot.statistics.slices import BattleQuery
from bot.statistics.verdicts import OUTLIER_STEP, Verdicts, verdict_lines

DEFAULT_ROUNDS = 100


class JobFailedError(Exception):
    """The job ran and failed (both models failed, a model is unreachable): ``ftarena`` exits with 1, after what
    the job printed; the message, if any, goes to standard error."""


async def compare(service: ArenaService, console: Console, prompt: str, matchup: str | None, as_json: bool) -> None:
    comparison = await service.compare(prompt, getpass.getuser(), Place(platform="cli"), matchup)
    if as_json:
        console.out(json.dumps(dataclasses.asdict(comparison), default=str, ensure_ascii=False, indent=2),
                    highlight=False)
    else:
        console.print(render.comparison_view(comparison, revealed=True, vote_hint=False))
    if comparison.status is Status.FAILED:
        raise JobFailedError("")  # the view said so; the exit code tells scripts


async def demo(service: ArenaService, console: Console, matchup: str | None) -> None:
    chosen = service.matchup(matchup)
    console.print(f"[bold]The seed lab's four prompts[/]: base {escape(chosen.base.name)} "
                  f"vs fine-tuned {escape(chosen.finetuned.name)}")
    for number, prompt in enumerate(SEED_PROMPTS, 1):
        console.rule(f"Prompt {number}")
        comparison = await service.compare(prompt, getpass.getuser(), Place(platform="demo"), chosen.name)
        console.print(render.comparison_view(comparison, revealed=True, vote_hint=False))


async def leaderboard(service: ArenaService | None, console: Console, query: BattleQuery, as_json: bool,
                      battles_file: str | None = None, rounds: int | None = None, style: bool = False,
                      judge_source: str | None = None) -> None:
    """The leaderboard of the database's votes or a battle file; ``rounds`` bootstrap rounds (100 by default),
    which ``style`` uses instead of its sandwich intervals when given. ``judge_source`` (human, judge or both):
    add the judge's agreement, with the ratings from that source."""
    tallies, judged = None, None
    if battles_file:
        report = await asyncio.to_thread(report_from_file, Path(battles_file), rounds or DEFAULT_ROUNDS, style=style,
                                         drop_outliers=query.drop_outliers, style_rounds=rounds)
    else:
        assert service is not None
        tallies = await service.leaderboard(query.matchup)  # an unknown matchup is refused before any output
        report = await service.report(query, rounds=rounds or DEFAULT_ROUNDS, verdicts=True, style=style,
                                      style_rounds=rounds)
        if judge_source is not None:
            report, judged = await judge_jobs.judge_addition(service, query, report, judge_source,
                                                             rounds or DEFAULT_ROUNDS)
    if as_json:
        data = judge_jobs.with_judge_json(report, judged) if judged else report_json(report)
        console.out(json.dumps(data, indent=2), highlight=False)
        return
    console.print(render.standings_view(report))
    styled = render.style_standings_view(report)
    if styled is not None:
        console.print(styled)
    for line in charts.filter_lines(report):
        console.print(f"[dim]{escape(line)}[/]")
    if report.verdicts is not None:
        for line in verdict_lines(report.verdicts):
            console.print(escape(line))
    if tallies is not None:
        console.print(render.leaderboard_view(tallies))
    if judged is not None:
        console.print(judge_jobs.judge_view(judged))


BATTLE_COLUMNS = ("model_a", "model_b", "winner")


class NotBattlesError(ValueError):
    """The file has the wrong shape for battles in the arena schema (the message says how)."""


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a battle file in the arena schema: JSON Lines, a JSON list, CSV or Parquet."""
    for row in _raw_rows(path):
        if not isinstance(row, dict):
            raise NotBattlesError(f"a battle is an object with {', '.join(BATTLE_COLUMNS)}, not {type(row).__name__}")
        yield row


def _raw_rows(path: Path) -> Iterator[Any]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets start with a byte-order mark
            reader = csv.DictReader(f)
            _require_columns(reader.fieldnames or [])
            yield from reader
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        file = pq.ParquetFile(path)
        _require_columns(file.schema_arrow.names)
        present = set(file.schema_arrow.names)
        extra = [column for column in VERDICT_COLUMNS if column in present]
        for batch in file.iter_batches(columns=[*BATTLE_COLUMNS, *extra]):
            yield from batch.to_pylist()
    elif suffix == ".json":
        with path.open(encoding="utf-8") as f:
            found = json.load(f)
        if not isinstance(found, list):
            raise NotBattlesError(f"a .json battle file is a list of battles, not a {type(found).__name__}")
        yield from found
    else:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def _require_columns(names: Iterable[str]) -> None:
    missing = [column for column in BATTLE_COLUMNS if column not in set(names)]
    if missing:
        raise NotBattlesError(f"no {', '.join(missing)} column")


def report_from_file(path: Path, rounds: int, *, style: bool = False, drop_outliers: bool = False,
                     style_rounds: int | None = None) -> ArenaReport:
    from bot.statistics.bias import bias_report
    from bot.statistics.slices import BattleSet, FilterStep

    found: Verdicts | None = None
    added: tuple[FilterStep, ...] = ()
    dropped: frozenset[str] = frozenset()
    try:
        rows: Iterable[dict[str, Any]] = _rows(path)
        if style or drop_outliers:  # two passes over the rows: read them once
            listed = list(rows)
            found, added, dropped = file_verdicts(listed, style=style, drop_outliers=drop_outliers,
                                                  rounds=style_rounds)
            rows = [row for row in listed if str(row.get("judge") or "") not in dropped]
            if drop_outliers:
                added = (*added, FilterStep(OUTLIER_STEP, len(listed) - len(rows)))
        counts, skipped = count_battles(rows)
    except FileNotFoundError:
        raise ArenaError(f"No battle file at {path}.") from None
    except NotBattlesError as exc:
        raise ArenaError(f"{path} is not a battle file in the arena schema: {exc}.") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ArenaError(f"{path} is not a battle file in the arena schema ({type(exc).__name__}).") from None
    total = sum(c.count for c in counts) + skipped + sum(step.removed for step in added
                                                         if step.name == OUTLIER_STEP)
    battles = BattleSet(counts=tuple(counts), sliced=total,
                        steps=(FilterStep("rows without models or a known winner", skipped), *added))
    return ArenaReport(query=BattleQuery(drop_outliers=drop_outliers),
                       leaderboard=bradley_terry.leaderboard(counts, rounds),
                       battles=battles, win_rates=bradley_terry.win_rate_matrix(counts),
                       bias=bias_report(counts, []), verdicts=found)


async def write_report(service: ArenaService, console: Console, query: BattleQuery, folder: str) -> None:
    report = await service.report(query, verdicts=True, style=True)
    tallies = await service.leaderboard(query.matchup)
    judged = await judge_jobs.judge_for_report(service, report)
    target = Path(folder)
    png = await asyncio.to_thread(charts.chart_png, report)
    target.mkdir(parents=True, exist_ok=True)
    (target / "leaderboard.png").write_bytes(png)
    page = judge_jobs.with_judge_html(charts.html_page(report, png, tallies), judged)
    (target / "index.html").write_text(page, encoding="utf-8")
    data = judge_jobs.with_judge_json(report, judged) if judged else report_json(report)
    (target / "leaderboard.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    console.print(f"Wrote {target / 'index.html'}, leaderboard.png and leaderboard.json.")


async def export_votes(service: ArenaService, console: Console, fmt: str, output: str, query: BattleQuery | None,
                       options: export.ExportOptions) -> None:
    binary = fmt in export.BINARY_FORMATS
    if output == "-" and binary:
        raise ArenaError(f"{fmt} is binary: give a file with -o.")
    target: IO[Any]
    with ExitStack() as stack:
        if output == "-":
            target = sys.stdout.buffer if binary else sys.stdout
        elif binary:
            target = stack.enter_context(Path(output).open("wb"))
        else:
            target = stack.enter_context(Path(output).open("w", encoding="utf-8", newline=""))
        rows = await service.export(fmt, target, query, options)
    note = console if output != "-" else Console(stderr=True)  # standard output holds the data itself
    if output != "-":
        console.print(f"Wrote {rows} row(s) to {escape(output)}.")
    for reason, count in sorted(options.left_out.items()):
        hint = " (--include-cut keeps them)" if reason == export.CUT else ""
        note.print(f"Left out {count:,} {'vote' if fmt == 'kto' else 'comparison'}(s): {reason}{hint}.")


async def check(service: ArenaService, console: Console) -> None:
    table = Table(title="Model check (one-token request each)")
    for column in ("model", "provider", "model id", "status"):
        table.add_column(column)
    checked = await service.check_models()
    for model, status in checked:
        style = "green" if status == "reachable" else "red"
        table.add_row(escape(model.name), model.provider, escape(model.model), f"[{style}]{status}[/]")
    console.print(table)
    failing = [model.name for model, status in checked if status != "reachable"]
    if failing:
        raise JobFailedError(f"{len(failing)} of {len(checked)} model(s) cannot answer: {', '.join(failing)}.")


async def forget(service: ArenaService, console: Console, voter: str, dry_run: bool) -> None:
    """``ftarena forget``: delete (or count, with ``dry_run``) a member's data and print what it removes."""
    if not voter.strip():
        raise ArenaError("Give the voter id as votes record it, e.g. discord:123456789012345678.")
    found = await service.forget(voter, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    console.print(f"{verb}: {found.votes} vote(s) ({found.reasons} with a reason), {found.comparisons} "
                  f"comparison(s) they asked for, and {found.others_votes} vote(s) others gave on those.")
