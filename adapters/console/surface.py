"""The terminal as the chat flow's surface: a live view while replies stream, plain prints otherwise.

Everyone at the terminal is its admin; there is nothing to acknowledge and no public message to update."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from adapters.console import render
from bot.domain import Comparison, Matchup, Place, Reveal, Status, Tally
from bot.statistics.report import ArenaReport

LIVE_INTERVAL_S = 0.1
WHY_HINT = "Say why with /why TEXT (optional; a new reason replaces the old)."
FORGET_COMMAND = "/arena-forget-me"


class ConsoleSurface:
    admins = "everyone at this terminal"
    export_command = "/export"
    shows_ratings = False
    roles: tuple[str, ...] = ()

    def __init__(self, console: Console, voter: str, place: Place) -> None:
        self.console = console
        self.voter = voter
        self.place = place
        # Piped input prints only results, so a scripted session's output stays plain.
        self.streams = console.is_terminal
        self.update_interval = LIVE_INTERVAL_S
        self._live: Live | None = None

    def is_admin(self) -> bool:
        return True

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        """A terminal needs no acknowledgement: the answer follows at once."""

    async def refuse(self, text: str) -> None:
        self.stop_live()
        self.console.print(f"[bold red]✗[/] {escape(text)}")

    withdraw = refuse

    async def tell(self, text: str) -> None:
        self.console.print(escape(text))

    async def show_comparison(self, comparison: Comparison) -> None:
        if comparison.status is Status.RUNNING:
            if self._live is None:
                self._live = Live(console=self.console, refresh_per_second=10, transient=True)
                self._live.start()
            self._live.update(render.comparison_view(comparison))
            return
        self.stop_live()
        self.console.print(render.comparison_view(comparison))

    def stop_live(self) -> None:
        """End the live view, if one is showing (also when a comparison ends by an error)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    async def show_reveal(self, reveal: Reveal) -> None:
        self.console.print(render.reveal_view(reveal))
        self.console.print(f"[dim]{WHY_HINT}[/]")

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        """The reveal already printed this comparison's counts."""

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        if heading:
            self.console.print(f"[bold]{escape(heading)}[/]")
        self.console.print(render.leaderboard_view(tallies))

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None:
        self.console.print(render.models_view(list(matchups), default))

    async def send_file(self, path: Path, text: str) -> None:
        self.console.print(escape(text))

    async def ask_follow_up(self, comparison_id: str) -> None:
        """The terminal has no buttons: ``/follow TEXT`` carries the text itself."""
        await self.refuse("Type /follow and your message to follow up.")
    async def ask_reason(self, comparison_id: str) -> None:
        """The terminal has no buttons: the reason is typed."""
        self.console.print(WHY_HINT)

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        """The terminal has no buttons: the confirmation is typed."""
        self.console.print(f"{escape(text)}\nType [bold]{FORGET_COMMAND} confirm[/] to go ahead.")
    async def announce(self, places: Sequence[Place], text: str) -> None:
        """The terminal is one place: said once, whatever the places."""
        self.console.print(f"[bold green]★[/] {escape(text)}")
