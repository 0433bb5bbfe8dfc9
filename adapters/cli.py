"""The ``ftarena`` command: parse arguments, open the service, run one front end or job."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from adapters import loop as event_loop
from adapters.bootstrap import load_settings, open_service
from adapters.console import jobs, judge_jobs, render
from adapters.console.chat import run_chat
from adapters.logs import setup_logging
from adapters.platforms import PLATFORMS
from adapters.serve import serve
from bot import export
from bot.config import Settings
from bot.errors import ArenaError, StorageError
from bot.service import ArenaService
from bot.statistics.rating_sources import SOURCES
from bot.statistics.slices import BattleQuery
from training.dataset import MIN_PAIRS
from training.errors import TrainingFailedError
from training.params import TrainParams
from training.pipeline import TrainRequest

log = logging.getLogger("ftarena")

# Exit statuses, so scripts can tell failures apart (said in --help).
EXIT_FAILED = 1  # the job ran and failed: both models failed, a model cannot answer
EXIT_USAGE = 2  # bad input or configuration: nothing was done
EXIT_UNAVAILABLE = 3  # the database is busy or unreachable


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or time: {text!r} (e.g. 2026-11-01 or 2026-11-01T09:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def _add_slice(parser: argparse.ArgumentParser, filters: bool = True) -> None:
    parser.add_argument("--matchup", default=None)
    parser.add_argument("--platform", default=None, help="console, discord, slack, …")
    parser.add_argument("--server", default=None, help="Discord guild id or Slack team id")
    parser.add_argument("--channel", default=None)
    parser.add_argument("--voter", default=None, help="one voter's own votes (a personal leaderboard)")
    parser.add_argument("--since", type=_when, default=None, help="votes at or after this UTC time")
    parser.add_argument("--until", type=_when, default=None, help="votes before this UTC time")
    if filters:
        parser.add_argument("--keep-all", action="store_true",
                            help="keep identity-leak prompts and failed or empty replies")
        parser.add_argument("--daily-cap", type=int, default=None, help="count at most N votes per voter per day")
        parser.add_argument("--drop-outliers", action="store_true",
                            help="leave out voters whose votes disagree with everyone's far beyond chance")


def _query(args: argparse.Namespace) -> BattleQuery:
    keep = getattr(args, "keep_all", False)
    return BattleQuery(matchup=args.matchup, platform=args.platform, server=args.server, channel=args.channel,
                       voter=args.voter, since=args.since, until=args.until, drop_identity_leaks=not keep,
                       drop_failed=not keep, daily_cap=getattr(args, "daily_cap", None),
                       drop_outliers=getattr(args, "drop_outliers", False))


EXIT_STATUSES = ("Exit status: 0 done; 1 the job failed (both models failed, a model cannot answer); "
                 "2 bad input or configuration; 3 database unreachable; 130 interrupted.")
MAIN_EXAMPLE = 'ftarena compare --config examples/ollama.toml "Tell me a joke"'
GLOBAL_RULE = ("These may come before or after the command;\n"
               "given in both places, the one after the command wins.")


def _add_global_options(parser: argparse.ArgumentParser, *, command: bool) -> None:
    """The options every command takes. On a command's parser they default to SUPPRESS, so that argparse
    copies only those typed after the command over the ones typed before it."""
    def default(value: object) -> object:
        return argparse.SUPPRESS if command else value

    group = parser.add_argument_group("global options", GLOBAL_RULE)
    group.add_argument("--config", default=default(None),
                       help="TOML config file (default: $FTARENA_CONFIG, else built-in defaults)")
    group.add_argument("--database", default=default(None),
                       help="database URL, overriding the config (e.g. sqlite:///arena.db)")
    group.add_argument("-v", "--verbose", action="count", default=default(0),
                       help="more log output (-vv for debug)")
    group.add_argument("--log-format", choices=("text", "json"), default=default("text"),
                       help="json: one object a line")


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str,
             example: str) -> argparse.ArgumentParser:
    """A command's parser: its help ends with an example and lists the global options too."""
    parser = sub.add_parser(name, help=summary, description=summary, epilog=f"Example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_global_options(parser, command=True)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftarena", description="Blind votes between a base model and its fine-tune.",
                                     epilog=f"{EXIT_STATUSES}\n\nExample:\n  {MAIN_EXAMPLE}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_global_options(parser, command=False)
    sub = parser.add_subparsers(dest="command", required=True)

    chat = _command(sub, "chat", "terminal chat: compare, vote, see the tally", "ftarena chat --user alice")
    chat.add_argument("--user", default=None, help="your voter name (default: your login)")
    chat.add_argument("--matchup", default=None)

    compare = _command(sub, "compare", "compare one prompt and print both replies",
                       'ftarena compare --config examples/ollama.toml --json "Tell me how to train my dog to sit"')
    compare.add_argument("prompt")
    compare.add_argument("--matchup", default=None)
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")

    demo = _command(sub, "demo", "run the seed lab's four prompts through the matchup",
                    "ftarena demo --config examples/lamini-llama2.toml")
    demo.add_argument("--matchup", default=None)

    board = _command(sub, "leaderboard", "arena ratings with intervals, win rates and bias checks",
                     "ftarena leaderboard --platform discord --since 2026-11-01 --json")
    _add_slice(board)
    board.add_argument("--json", action="store_true", help="machine-readable ratings with intervals")
    board.add_argument("--battles", metavar="FILE", help="rate a battle file (arena schema) instead of the database")
    board.add_argument("--rounds", type=_positive, default=None,
                       help="bootstrap rounds (default 100); with --style also for its intervals (default: sandwich)")
    board.add_argument("--style", action="store_true",
                       help="style-controlled ratings beside the raw ones (length and markdown as covariates)")
    board.add_argument("--judge", action="store_true",
                       help="add the LLM judge's agreement with the votes (kappa, consistency, confusion matrix)")
    board.add_argument("--source", choices=SOURCES, default=None,
                       help="ratings from the votes (human), the judge, or both (a verdict weighs half a vote)")

    report = _command(sub, "report", "write a PNG chart and a self-contained HTML page",
                      "ftarena report --matchup embedded -o report")
    _add_slice(report)
    report.add_argument("-o", "--output", default="report", help="folder to write (default ./report)")

    exporter = _command(sub, "export", "write votes as arena battles or preference data",
                        "ftarena export --format dpo --min-votes 3 -o preferences.jsonl")
    _add_slice(exporter, filters=False)
    exporter.add_argument("--format", choices=tuple(export.FORMATS), default="jsonl",
                          help="csv/jsonl/parquet: arena battles; dpo/kto: TRL preference data")
    exporter.add_argument("-o", "--output", default="-", help="file to write ('-' for standard output)")
    exporter.add_argument("--raw-voters", action="store_true", help="write voter ids instead of pseudonyms")
    exporter.add_argument("--min-votes", type=int, default=1,
                          help="dpo: one row per comparison with N+ decided (A or B) votes and a strict majority")
    exporter.add_argument("--include-cut", action="store_true",
                          help="dpo/kto: keep comparisons with a reply the length limit cut (left out by default)")
    exporter.add_argument("--majority", action="store_true",
                          help="dpo: one row per comparison, its strict majority of decided votes")

    forget = _command(sub, "forget", "delete a member's votes, reasons and the comparisons they asked for",
                      "ftarena forget discord:123456789012345678 --dry-run")
    forget.add_argument("voter_id", metavar="VOTER_ID",
                        help="as votes record it: discord:USER_ID, slack:TEAM_ID:USER_ID, or a terminal user name")
    forget.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")
    judge = _command(sub, "judge", "judge stored comparisons with the [judge] model",
                     "ftarena judge --backfill --limit 200 --matchup embedded")
    judge.add_argument("--backfill", action="store_true", required=True,
                       help="judge finished comparisons the judge has not answered yet (or failed on), oldest first")
    judge.add_argument("--limit", type=int, default=None, help="at most N comparisons")
    judge.add_argument("--matchup", default=None)

    models = _command(sub, "models", "list the matchups, models and registered contenders; add or retire one",
                      "ftarena models add tuned-v2 --parent smollm2-135m-instruct --lora out/adapter")
    models.add_argument("action", nargs="?", choices=("add", "remove"),
                        help="add NAME --parent P --lora PATH: register an adapter trained elsewhere; "
                             "remove NAME: retire a contender (its votes stay)")
    models.add_argument("name", nargs="?", help="the contender's name (add, remove)")
    models.add_argument("--parent", help="add: the configured model the adapter was trained on")
    models.add_argument("--lora", help="add: a GGUF LoRA file, a PEFT adapter folder, or (OpenAI-compatible "
                                       "parents) the served LoRA's model name")
    models.add_argument("--adapters-dir", default=None, help="add: where converted adapters go (arena.adapters_dir)")
    models.add_argument("--check", action="store_true", help="ping each model with a one-token request")

    trainer = _command(sub, "train", "train the next fine-tune from a matchup's votes and enter it in the arena",
                       "ftarena train --matchup embedded --min-pairs 20 --epochs 2")
    trainer.add_argument("--matchup", default=None, help="whose votes; its fine-tuned model is the parent")
    trainer.add_argument("--min-votes", type=int, default=1, help="dpo: decided votes a comparison needs")
    trainer.add_argument("--min-pairs", type=int, default=MIN_PAIRS,
                         help=f"refuse to train on fewer usable examples (default {MIN_PAIRS})")
    trainer.add_argument("--majority", action="store_true", help="dpo: one row per comparison, its majority")
    trainer.add_argument("--include-cut", action="store_true",
                         help="keep comparisons with a reply the length limit cut (left out by default)")
    trainer.add_argument("--name", default=None, help="the new contender's name (default PARENT+METHOD-N)")
    trainer.add_argument("--adapters-dir", default=None,
                         help="where adapters go (default arena.adapters_dir, ./trained)")
    trainer.add_argument("--emit", metavar="DIR", default=None,
                         help="train elsewhere: write the dataset and a TRL command into DIR instead")
    trainer.add_argument("--hf-model", default=None, help="--emit: the checkpoint TRL trains (default: the "
                                                          "model's hf_model option, or the embedded model's)")
    TrainParams.add_arguments(trainer)

    serve_cmd = _command(sub, "serve", "run the front ends: discord, slack, web, or several at once",
                         "DISCORD_TOKEN=... ftarena serve discord web --log-format json")
    # No argparse choices: with nargs="*" it rejects the empty list; serve() names an unknown platform.
    serve_cmd.add_argument("platforms", nargs="*", metavar="PLATFORM",
                           help=f"any of {', '.join(PLATFORMS)}; none: every platform whose credentials are set "
                                "(discord, slack; web only when named)")
    serve_cmd.add_argument("--http", action="store_true", help="Slack over HTTP (signed requests), not Socket Mode")
    serve_cmd.add_argument("--port", type=int, default=3000, help="HTTP port for --http (default 3000)")

    web = _command(sub, "web", "serve the live leaderboard, the battles and the blind arena over HTTP",
                   "FTARENA_WEB__ADMIN_TOKEN=... ftarena web --port 8080")
    web.add_argument("--port", type=int, default=None, help="default: web.port (8080)")
    web.add_argument("--host", default=None, help="default: web.host (127.0.0.1)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.database:
        settings = dataclasses.replace(settings, database_url=args.database)
    return settings


async def _with_service(settings: Settings, job: Callable[[ArenaService], Awaitable[None]]) -> None:
    service = await open_service(settings)
    try:
        await job(service)
    finally:
        await service.aclose()


def _job(args: argparse.Namespace, console: Console, settings: Settings) -> Callable[[ArenaService], Awaitable[None]]:
    if args.command == "chat":
        return lambda s: run_chat(s, console, args.user or getpass.getuser(), args.matchup)
    if args.command == "compare":
        return lambda s: jobs.compare(s, console, args.prompt, args.matchup, args.json)
    if args.command == "demo":
        return lambda s: jobs.demo(s, console, args.matchup)
    if args.command == "leaderboard":
        source = args.source or ("human" if args.judge else None)
        return lambda s: jobs.leaderboard(s, console, _query(args), args.json, rounds=args.rounds, style=args.style,
                                          judge_source=source)
    if args.command == "judge":
        return lambda s: judge_jobs.run_backfill(s, console, args.limit, args.matchup)
    if args.command == "report":
        return lambda s: jobs.write_report(s, console, _query(args), args.output)
    if args.command == "forget":
        return lambda s: jobs.forget(s, console, args.voter_id, args.dry_run)
    if args.command in ("models", "train"):
        return _registry_job(args, console, settings)
    sliced = any(getattr(args, k) for k in ("matchup", "platform", "server", "channel", "voter", "since", "until"))
    query = dataclasses.replace(_query(args), drop_identity_leaks=False, drop_failed=False) if sliced else None
    return lambda s: jobs.export_votes(s, console, args.format, args.output, query, export.ExportOptions(
        salt=s.export_salt, raw_voters=args.raw_voters, min_votes=args.min_votes, majority=args.majority,
        include_cut=args.include_cut))


def _registry_job(args: argparse.Namespace, console: Console,
                  settings: Settings) -> Callable[[ArenaService], Awaitable[None]]:
    from adapters.console import train

    adapters_dir = Path(args.adapters_dir or settings.arena.adapters_dir)

    if args.command == "train":
        request = TrainRequest(matchup=args.matchup, params=TrainParams.from_namespace(args),
                               min_pairs=args.min_pairs, min_votes=args.min_votes, majority=args.majority,
                               include_cut=args.include_cut, name=args.name)
        if args.emit:
            return lambda s: train.emit(s, console, request, Path(args.emit), args.hf_model)
        return lambda s: train.train(s, console, request, adapters_dir)
    if args.action and not args.name:
        raise ArenaError(f"ftarena models {args.action} needs the contender's NAME.")
    if args.action == "add":
        if not (args.parent and args.lora):
            raise ArenaError("ftarena models add NAME needs --parent MODEL and --lora PATH.")
        return lambda s: train.add(s, console, args.name, args.parent, args.lora, adapters_dir)
    if args.action == "remove":
        return lambda s: train.remove(s, console, args.name)
    if args.check:
        return lambda s: jobs.check(s, console)
    return lambda s: train.list_registry(s, console)


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = logging.INFO if args.command in ("serve", "web") else logging.WARNING
    level = quiet - 10 * min(args.verbose, 2)
    setup_logging(level, args.log_format)
    console = Console()
    errors = Console(stderr=True)
    try:
        if args.command == "leaderboard" and args.battles:
            if args.judge or args.source:
                raise ArenaError("--judge and --source read the judge's verdicts from the database, not from a "
                                 "--battles file.")
            if dataclasses.replace(_query(args), drop_outliers=False) != BattleQuery():
                raise ArenaError("--battles rates the whole file: the slice and filter options apply to "
                                 "the database's votes (--drop-outliers applies to both).")
            event_loop.run(jobs.leaderboard(None, console, BattleQuery(drop_outliers=args.drop_outliers), args.json,
                                            args.battles, args.rounds, style=args.style))
            return 0
        settings = _settings(args)
        if args.command == "models" and not args.check and not args.action:
            matchups = [settings.matchups[n] for n in sorted(settings.matchups)]
            console.print(render.models_view(matchups, settings.arena.default_matchup))
            event_loop.run(_with_service(settings, _job(args, console, settings)))
        elif args.command == "web":
            chosen = {k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
            settings = dataclasses.replace(settings, sections={
                **settings.sections, "web": dataclasses.replace(settings.web, **chosen)})
            event_loop.run(serve(settings, ["web"]))
        elif args.command == "serve":
            event_loop.run(serve(settings, args.platforms, http_port=args.port if args.http else None))
        else:
            event_loop.run(_with_service(settings, _job(args, console, settings)))
    except jobs.JobFailedError as exc:
        if str(exc):
            errors.print(f"[bold red]failed:[/] {escape(str(exc))}")
        return EXIT_FAILED
    except StorageError as exc:
        errors.print(f"[bold red]error:[/] {escape(exc.user_message)}")
        return EXIT_UNAVAILABLE
    except TrainingFailedError as exc:  # the run started and failed; the log has the worker's last words
        errors.print(f"[bold red]failed:[/] {escape(exc.user_message)}")
        return EXIT_FAILED
    except ArenaError as exc:
        errors.print(f"[bold red]error:[/] {escape(exc.user_message)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
