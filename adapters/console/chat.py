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
from rich.markup import escape

from adapters.console import render
from adapters.console.surface import ConsoleSurface
from adapters.flow import ChatFlow
from bot.domain import Comparison, Place, Status
from bot.errors import ArenaError
from bot.export import BINARY_FORMATS, writer_for
from bot.outcomes import CHOICE_ALIASES
from bot.service import ArenaService

log = logging.getLogger(__name__)

# Words that vote on the last comparison when typed alone (anything else is a prompt).
VOTE_WORDS = frozenset(CHOICE_ALIASES)


@dataclass
class ChatSession:
    service: ArenaService
    console: Console
    voter: str
    matchup: str | None = None
    last: Comparison | None = None
    place: Place = field(default_factory=lambda: Place(platform="console", channel="terminal"))

    def __post_init__(self) -> None:
        self.flow = ChatFlow(self.service)
        self.surface = ConsoleSurface(self.console, self.voter, self.place)

    async def handle(self, line: str) -> bool:
        """Run one input line; returns False when the user asked to quit."""
        text = line.strip()
        if not text:
            return True
        command, _, rest = text.partition(" ") if text.startswith("/") else ("", "", text)
        try:
            return await self._dispatch(command.lower(), rest.strip(), text)
        except ArenaError as exc:
            await self.surface.refuse(exc.user_message)
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
            await self.flow.leaderboard(self.surface, rest or None)
        elif command == "/models":
            await self.flow.models(self.surface, self.matchup)
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
        try:
            comparison = await self.flow.compare(self.surface, prompt.replace("\\n", "\n"), self.matchup)
        finally:
            self.surface.stop_live()
        self.last = comparison if comparison is not None and comparison.status is Status.DONE else None

    async def vote(self, choice: str) -> None:
        if self.last is None:
            raise ArenaError("Nothing to vote on yet: compare a prompt first.")
        await self.flow.vote(self.surface, self.last.id, choice)

    async def export(self, rest: str) -> None:
        fmt, _, target = rest.partition(" ")
        if not fmt or not target.strip():
            raise ArenaError("Usage: /export csv|jsonl PATH")
        writer_for(fmt)  # an unknown format is refused before any file is touched
        if fmt in BINARY_FORMATS:
            raise ArenaError(f"{fmt} export is for the command line: ftarena export --format {fmt} -o FILE")
        path = Path(target.strip()).expanduser()
        rows = await self.flow.export_file(fmt, path)
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
