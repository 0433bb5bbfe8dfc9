"""The terminal chat loop: parse a line -> call the service -> render -> print.

On a terminal the replies stream into a live view; with piped input it reads one command a line
and prints plain results, so sessions can be scripted."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from adapters import channel_commands
from adapters.console import render
from adapters.console.surface import FORGET_COMMAND, ConsoleSurface
from adapters.flow import ChatFlow
from adapters.ids import FORGET_CONFIRM
from bot.domain import Comparison, Place, Status
from bot.errors import ArenaError
from bot.export import BINARY_FORMATS, writer_for
from bot.outcomes import CHOICE_ALIASES
from bot.service import ArenaService

log = logging.getLogger(__name__)

QUIT_HINT = "Ctrl-C again or Ctrl-D to quit."
# Words that vote on the last comparison when typed alone (anything else is a prompt).
VOTE_WORDS = frozenset(CHOICE_ALIASES)


@dataclass
class ChatSession:
    service: ArenaService
    console: Console
    voter: str
    matchup: str | None = None
    last: Comparison | None = None  # the last comparison shown that can be voted on
    shown: Comparison | None = None  # the last comparison shown, whatever became of it (for /regenerate)
    last_voted: str | None = None  # the comparison of the last vote, which /why explains
    place: Place = field(default_factory=lambda: Place(platform="console", channel="terminal"))

    def __post_init__(self) -> None:
        self.flow = ChatFlow(self.service)
        self.surface = ConsoleSurface(self.console, self.voter, self.place)

    async def handle(self, line: str) -> bool:
        """Run one input line; returns False when the user asked to quit."""
        text = line.strip()
        if not text:  # said once, clearly, like any other bad prompt
            await self.compare(text)
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
            self.console.print(render.help_view())
        elif command == "/compare":
            await self.compare(rest)
        elif command == "/vote":
            await self.vote(rest)
        elif command == "/follow":
            await self.follow(rest)
        elif command == "/regenerate":
            await self.regenerate()
        elif command == "/leaderboard":
            await self.flow.leaderboard(self.surface, *channel_commands.parse_leaderboard(rest))
        elif command == "/arena-settings":
            await self.flow.settings_text(self.surface, command, rest)
        elif command == "/models":
            await self.flow.models(self.surface, self.matchup)
        elif command == "/matchup":
            self.matchup = self.service.matchup(rest).name
            self.console.print(f"Matchup is now [bold]{escape(self.matchup)}[/].")
        elif command == "/export":
            await self.export(rest)
        elif command == "/why":
            await self.why(rest)
        elif command == FORGET_COMMAND:
            await self.forget_me(rest)
        elif command:
            self.console.print(f"[red]Unknown command {escape(command)}[/]; /help lists them.")
        elif self.last is not None and text.lower() in VOTE_WORDS:
            await self.vote(text)
        else:
            await self.compare(text)
        return True

    async def compare(self, prompt: str) -> None:
        await self._show(self.flow.compare(self.surface, prompt.replace("\\n", "\n"), self.matchup))

    async def follow(self, text: str) -> None:
        if self.shown is None:
            raise ArenaError("Nothing to follow up yet: compare a prompt first.")
        if not text.strip():
            raise ArenaError("Usage: /follow TEXT")
        await self._show(self.flow.follow_up(self.surface, self.shown.id, text.replace("\\n", "\n")))

    async def regenerate(self) -> None:
        if self.shown is None:
            raise ArenaError("Nothing to regenerate yet: compare a prompt first.")
        await self._show(self.flow.regenerate(self.surface, self.shown.id))

    async def _show(self, running: Awaitable[Comparison | None]) -> None:
        """Run a comparison the flow shows; it becomes the one to vote on, follow up or regenerate next."""
        try:
            comparison = await running
        finally:
            self.surface.stop_live()
        if comparison is not None:
            self.shown = comparison
        self.last = comparison if comparison is not None and comparison.status is Status.DONE else None

    async def vote(self, choice: str) -> None:
        if self.last is None:
            raise ArenaError("Nothing to vote on yet: compare a prompt first.")
        if await self.flow.vote(self.surface, self.last.id, choice) is not None:
            self.last_voted = self.last.id

    async def why(self, text: str) -> None:
        if self.last_voted is None:
            raise ArenaError("Vote first, then say why: /why TEXT explains your last vote.")
        if not text:
            raise ArenaError("Usage: /why TEXT (why you voted as you did on the last comparison)")
        await self.flow.reason(self.surface, self.last_voted, text.replace("\\n", "\n"))

    async def forget_me(self, rest: str) -> None:
        if rest.lower() != "confirm":
            await self.flow.forget_me(self.surface)
            return
        if await self.flow.forget_confirmed(self.surface, FORGET_CONFIRM) is not None:
            self.last = self.last_voted = None

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
    if sys.stdin.isatty() and sys.stdout.isatty():
        console.print(f"[bold]Finetune Arena[/] — matchup [bold]{escape(matchup or service.default_matchup)}"
                      "[/]. Type or paste a prompt to compare, /help for commands, Ctrl-D to leave.")
        await _interactive(session)
        return
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Bytes that are not valid UTF-8 become U+FFFD instead of ending the session.
        sys.stdin.reconfigure(errors="replace")
    while line := await asyncio.to_thread(sys.stdin.readline):  # piped: one command a line
        if not await session.handle(line):
            break


async def _interactive(session: ChatSession) -> None:
    """A line editor (history, editing; a paste of many lines, however long, is one prompt, through the
    terminal's bracketed paste). Ctrl-C stops the comparison that is streaming; Ctrl-C again, or Ctrl-D, quits."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.formatted_text import HTML

    editor: PromptSession[str] = PromptSession()
    loop = asyncio.get_running_loop()
    armed = False  # the last thing the member did was Ctrl-C
    while True:
        try:
            line = await editor.prompt_async(HTML("<ansigreen><b>you&gt;</b></ansigreen> "))
        except KeyboardInterrupt:
            if armed:
                return
            armed = True
            session.console.print(f"[dim]{QUIT_HINT}[/]")
            continue
        except EOFError:
            return
        armed = False
        # The loop watched the terminal for keys and left it non-blocking (libuv does); the terminal's input and
        # output share one file description, so a long reply would then be cut off mid-print.
        os.set_blocking(sys.stdout.fileno(), True)
        task = asyncio.ensure_future(session.handle(line))
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            if not await task:
                return
        except asyncio.CancelledError:
            armed = True
            session.console.print(f"[yellow]Stopped; nothing half-done was kept.[/] [dim]{QUIT_HINT}[/]")
        finally:
            loop.remove_signal_handler(signal.SIGINT)
