"""The judge in the terminal: ``ftarena judge --backfill`` with a progress bar, and the judge's block of
``ftarena leaderboard --judge`` (agreement, confusion matrix, ratings by source)."""

from __future__ import annotations

import dataclasses
import html
from collections import Counter
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.errors import ArenaError
from bot.judge_queue import backfill
from bot.judge_report import NO_JUDGE, JudgeReport, agreement_lines, judge_json, judge_report
from bot.judgement import Judgement, JudgeStatus
from bot.service import ArenaService
from bot.statistics.agreement import LABELS
from bot.statistics.report import ArenaReport, report_json
from bot.statistics.slices import BattleQuery


async def run_backfill(service: ArenaService, console: Console, limit: int | None, matchup: str | None) -> None:
    """Judge stored comparisons the judge has no answer on, oldest first, a few at a time."""
    if service.judge is None:
        raise ArenaError(NO_JUDGE)
    if limit is not None and limit < 1:
        raise ArenaError("--limit must be at least 1.")
    if matchup is not None:
        service.matchup(matchup)  # an unknown matchup is refused before any work
    judge = service.judge.judge
    pending = await service.repository.unjudged(judge.name, matchup, limit)
    if not pending:
        console.print(f"Nothing to judge: {escape(judge.name)} has judged every finished comparison"
                      + (f" of {escape(matchup)}." if matchup else "."))
        return
    statuses: Counter[str] = Counter()
    columns = (TextColumn("judging"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as bar:
        task = bar.add_task("judge", total=len(pending))

        def judged(judgement: Judgement | None) -> None:
            statuses[judgement.status.value if judgement else "not stored"] += 1
            bar.advance(task)

        await backfill(judge, service.repository, pending, judge.settings.workers, judged)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    console.print(f"Judged {len(pending)} comparison(s) with {escape(judge.name)}: {summary}.")
    if set(statuses) == {JudgeStatus.FAILED.value}:
        # Imported here: jobs imports this module for the leaderboard's judge block.
        from adapters.console.jobs import JobFailedError

        raise JobFailedError(f"The judge {judge.name} could not answer (the log says why); nothing was decided.")


async def judge_addition(service: ArenaService, query: BattleQuery, report: ArenaReport, source: str,
                         rounds: int) -> tuple[ArenaReport, JudgeReport]:
    """The judge's report for the slice, and the arena report with its ratings taken from ``source``."""
    name = service.judge.name if service.judge is not None else None
    found = await judge_report(service.repository, name, query, report.battles.counts, source, rounds)
    if found.leaderboard is not None:
        report = dataclasses.replace(report, leaderboard=found.leaderboard)
    return report, found


async def judge_for_report(service: ArenaService, report: ArenaReport) -> JudgeReport | None:
    """The judge's agreement for ``ftarena report``, when a judge is configured."""
    if service.judge is None:
        return None
    return await judge_report(service.repository, service.judge.name, report.query, report.battles.counts)


def with_judge_html(page: str, judge: JudgeReport | None) -> str:
    """The report page with the judge's section at its end (kept out of charts.html_page, which the ratings own)."""
    if judge is None:
        return page
    lines = "".join(f"<p>{html.escape(line)}</p>" for line in agreement_lines(judge))
    table = ""
    if judge.agreement.compared:
        head = "".join(f"<th>judge: {label}</th>" for label in LABELS)
        rows = "".join(f"<tr><td>members: {h}</td>"
                       + "".join(f"<td>{judge.agreement.confusion[h][j]}</td>" for j in LABELS) + "</tr>"
                       for h in LABELS)
        table = f'<table id="judge-confusion"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>'
    section = f'<h2 id="judge">LLM judge beside the members</h2>{lines}{table}\n'
    return page.replace("</body>", section + "</body>", 1)


def with_judge_json(report: ArenaReport, judge: JudgeReport) -> dict[str, Any]:
    return {**report_json(report), "judge": judge_json(judge)}


def judge_view(report: JudgeReport) -> RenderableType:
    """The agreement in sentences, then the confusion matrix (rows: the members' majority; columns: the judge)."""
    parts: list[RenderableType] = [escape(line) for line in agreement_lines(report)]
    if report.source != "human":
        parts.insert(0, f"[bold]Ratings from: {report.source}[/] (a judge verdict weighs half a member's vote "
                        "in 'both')")
    if report.agreement.compared:
        parts.append("Confusion matrix: the members' majority (rows) against the judge's pick (columns)")
        table = Table()
        table.add_column("")
        for label in LABELS:
            table.add_column(label, justify="right")
        for human in LABELS:
            table.add_row(human, *(str(report.agreement.confusion[human][judge]) for judge in LABELS))
        parts.append(table)
    return Group(*parts)
