"""The terminal chat loop: parse a line -> call the service -> render -> print.

On a terminal the replies stream into a live view; with piped input it reads one command a line
and prints plain results, so sessions can be scripted."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from adapters.console import render
from bot.domain import Comparison, Place, Status
from bot.errors import ArenaError
from bot.export import BINARY_FORMATS, writer_for
from bot.service import ArenaService

log = logging.getLogger(__name__)

LIVE_INTERVAL_S = 0.1
VOTE_WORDS = {"a", "b", "tie", "t", "bad", "x", "both_bad", "both bad"}


@dataclass
class ChatSession:
    service: ArenaService
    console: Console
    voter: str
    matchup: str | None = None
    last: Comparison | None = None
    place: Place = field(default_factory=lambda: Place(platform="console", channel="terminal"))

    async def handle(self, line: str) -> bool:
        """Run one input line; returns False when the user asked to quit."""
        text = line.strip()
        if not text:
            return True
        command, _, rest = text.partition(" ") if text.startswith("/") else ("", "", text)
        try:
            return await self._dispatch(command.lower(), rest.strip(), text)
        except ArenaError as exc:
            self.console.print(f"[bold red]✗[/] {escape(exc.user_message)}")
        return True

    async def _dispatch(self, command: str, rest: str, text: str) -> bool:
        if command in ("/quit", "/exit", "/q"):
            return False
        if command == "/help":
            self.console.print(render.HELP)
        elif command == "/compare":
            await self.compare(rest)
        elif command == "/vote":
            await self.vote(rest)
        elif command == "/leaderboard":
            self.console.print(render.leaderboard_view(await self.service.leaderboard(rest or None)))
        elif command == "/models":
            matchups = [self.service.matchups[n] for n in sorted(self.service.matchups)]
            self.console.print(render.models_view(matchups, self.matchup or self.service.default_matchup))
        elif command == "/matchup":
            self.matchup = self.service.matchup(rest).name
            self.console.print(f"Matchup is now [bold]{escape(self.matchup)}[/].")
        elif command == "/export":
            await self.export(rest)
        elif command:
            self.console.print(f"[red]Unknown command {escape(command)}[/]; /help lists them.")
        elif self.last is not None and text.lower() in VOTE_WORDS:
            await self.vote(text)
        else:
            await self.compare(text)
        return True

    async def compare(self, prompt: str) -> None:
        prompt = prompt.replace("\\n", "\n")
        if not self.console.is_terminal:
            comparison = await self.service.compare(prompt, self.voter, self.place, self.matchup)
        else:
            with Live(console=self.console, refresh_per_second=10, transient=True) as live:
                async def show(progress: Comparison) -> None:
                    live.update(render.comparison_view(progress))

                comparison = await self.service.compare(
                    prompt, self.voter, self.place, self.matchup, on_update=show, update_interval=LIVE_INTERVAL_S)
        self.last = comparison if comparison.status is Status.DONE else None
        self.console.print(render.comparison_view(comparison))

    async def vote(self, choice: str) -> None:
        if self.last is None:
            raise ArenaError("Nothing to vote on yet: compare a prompt first.")
        reveal = await self.service.vote(self.last.id, self.voter, choice)
        self.console.print(render.reveal_view(reveal))

    async def export(self, rest: str) -> None:
        fmt, _, target = rest.partition(" ")
        if not fmt or not target.strip():
            raise ArenaError("Usage: /export csv|jsonl PATH")
        writer_for(fmt)  # an unknown format is refused before any file is touched
        if fmt in BINARY_FORMATS:
            raise ArenaError(f"{fmt} export is for the command line: ftarena export --format {fmt} -o FILE")
        path = Path(target.strip()).expanduser()
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                rows = await self.service.export(fmt, out)
        except OSError as exc:
            raise ArenaError(f"Cannot write {path}: {exc.strerror or type(exc).__name__}.") from None
        self.console.print(f"Wrote {rows} vote(s) to {escape(str(path))}.")


async def run_chat(service: ArenaService, console: Console, voter: str, matchup: str | None = None) -> None:
    session = ChatSession(service, console, voter, matchup)
    interactive = sys.stdin.isatty()
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Bytes that are not valid UTF-8 become U+FFFD instead of ending the session.
        sys.stdin.reconfigure(errors="replace")
    if interactive:
        console.print(f"[bold]Finetune Arena[/] — matchup [bold]{escape(matchup or service.default_matchup)}"
                      "[/]. Type a prompt to compare, /help for commands, /quit to leave.")
    while True:
        try:
            line = await asyncio.to_thread(_read_line, console, interactive)
        except EOFError:
            break
        if not await session.handle(line):
            break


def _read_line(console: Console, interactive: bool) -> str:
    if interactive:
        return console.input("[bold green]you>[/] ")
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line
