"""The ``ftarena`` command: parse arguments, open the service, run one front end."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.bootstrap import open_service
from adapters.console import render
from adapters.console.chat import run_chat
from adapters.serve import serve
from bot.config import Settings, load_settings
from bot.domain import Place
from bot.errors import ArenaError
from bot.seed import SEED_PROMPTS
from bot.service import ArenaService

log = logging.getLogger("ftarena")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftarena", description="Blind votes between a base model and its fine-tune.")
    parser.add_argument("--config", help="TOML config file (default: $FTARENA_CONFIG, else built-in defaults)")
    parser.add_argument("--database", help="database URL, overriding the config (e.g. sqlite:///arena.db)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="terminal chat: compare, vote, see the tally")
    chat.add_argument("--user", default=None, help="your voter name (default: your login)")
    chat.add_argument("--matchup", default=None)

    compare = sub.add_parser("compare", help="compare one prompt and print both replies")
    compare.add_argument("prompt")
    compare.add_argument("--matchup", default=None)
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")

    demo = sub.add_parser("demo", help="run the seed lab's four prompts through the matchup")
    demo.add_argument("--matchup", default=None)

    board = sub.add_parser("leaderboard", help="win rate of each fine-tuned model with its interval")
    board.add_argument("--matchup", default=None)
    board.add_argument("--json", action="store_true")

    export = sub.add_parser("export", help="write every vote as arena battles")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("-o", "--output", default="-", help="file to write ('-' for standard output)")

    models = sub.add_parser("models", help="list the configured matchups and models")
    models.add_argument("--check", action="store_true", help="ping each model with a one-token request")

    serve = sub.add_parser("serve", help="run the chat bots: discord, slack or both")
    serve.add_argument("platforms", nargs="+", choices=("discord", "slack"))
    serve.add_argument("--http", action="store_true", help="Slack over HTTP (signed requests) instead of Socket Mode")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port for --http (default 3000)")
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


async def _compare(service: ArenaService, console: Console, prompt: str, matchup: str | None, as_json: bool) -> None:
    comparison = await service.compare(prompt, getpass.getuser(), Place(platform="cli"), matchup)
    if as_json:
        console.out(json.dumps(dataclasses.asdict(comparison), default=str, ensure_ascii=False, indent=2),
                    highlight=False)
    else:
        console.print(render.comparison_view(comparison, revealed=True, vote_hint=False))


async def _demo(service: ArenaService, console: Console, matchup: str | None) -> None:
    chosen = service.matchup(matchup)
    console.print(f"[bold]The seed lab's four prompts[/]: base {escape(chosen.base.name)} "
                  f"vs fine-tuned {escape(chosen.finetuned.name)}")
    for number, prompt in enumerate(SEED_PROMPTS, 1):
        console.rule(f"Prompt {number}")
        comparison = await service.compare(prompt, getpass.getuser(), Place(platform="demo"), matchup)
        console.print(render.comparison_view(comparison, revealed=True, vote_hint=False))


async def _leaderboard(service: ArenaService, console: Console, matchup: str | None, as_json: bool) -> None:
    tallies = await service.leaderboard(matchup)
    if as_json:
        console.out(json.dumps([dataclasses.asdict(t) for t in tallies], indent=2), highlight=False)
    else:
        console.print(render.leaderboard_view(tallies))


async def _export(service: ArenaService, console: Console, fmt: str, output: str) -> None:
    target: IO[str]
    with (nullcontext(sys.stdout) if output == "-" else Path(output).open("w", encoding="utf-8", newline="")) as target:
        rows = await service.export(fmt, target)
    if output != "-":
        console.print(f"Wrote {rows} vote(s) to {output}.")


async def _check(service: ArenaService, console: Console) -> None:
    table = Table(title="Model check (one-token request each)")
    for column in ("model", "provider", "model id", "status"):
        table.add_column(column)
    for model, status in await service.check_models():
        style = "green" if status == "reachable" else "red"
        table.add_row(escape(model.name), model.provider, escape(model.model), f"[{style}]{status}[/]")
    console.print(table)


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = logging.INFO if args.command == "serve" else logging.WARNING
    level = quiet - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    console = Console()
    errors = Console(stderr=True)
    try:
        settings = _settings(args)
        if args.command == "models" and args.check:
            asyncio.run(_with_service(settings, lambda s: _check(s, console)))
            return 0
        if args.command == "models":
            matchups = [settings.matchups[n] for n in sorted(settings.matchups)]
            console.print(render.models_view(matchups, settings.arena.default_matchup))
            return 0
        jobs: dict[str, Callable[[ArenaService], Awaitable[None]]] = {
            "chat": lambda s: run_chat(s, console, args.user or getpass.getuser(), args.matchup),
            "compare": lambda s: _compare(s, console, args.prompt, args.matchup, args.json),
            "demo": lambda s: _demo(s, console, args.matchup),
            "leaderboard": lambda s: _leaderboard(s, console, args.matchup, args.json),
            "export": lambda s: _export(s, console, args.format, args.output),
        }
        if args.command == "serve":
            asyncio.run(serve(settings, args.platforms, http_port=args.port if args.http else None))
        else:
            asyncio.run(_with_service(settings, jobs[args.command]))
    except ArenaError as exc:
        errors.print(f"[bold red]error:[/] {escape(exc.user_message)}")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
