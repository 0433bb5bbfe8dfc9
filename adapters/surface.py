"""What the chat flow needs of a front end for one request (``Surface``): who is asking and where, how to
acknowledge, answer privately, show and attach. Discord, Slack, the terminal and the web each implement it in
their ``surface.py``; adapters/flow.py sequences every command on it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bot.domain import Comparison, Matchup, Place, Reveal, Tally
from bot.statistics.report import ArenaReport


class Surface(Protocol):
    """One request on one front end, as the flow sees it. Methods that show something receive domain values and
    format them for the platform; ``refuse`` and ``tell`` answer only the person asking."""

    voter: str  # who is asking, as votes record them (``discord:42``)
    place: Place  # where: platform, server, channel
    update_interval: float  # how often the comparison message may change while replies stream
    streams: bool  # whether to show replies while they grow (False: only the final comparison)
    shows_ratings: bool  # whether the leaderboard shows the arena ratings and their chart beside the tallies
    admins: str  # who may export, in words ("the bot's admins (slack.admin_user_ids)")
    roles: tuple[str, ...]  # the member's role ids where the platform has roles (Discord), for the allow-lists
    export_command: str  # the export command as typed here, for its usage line

    def is_admin(self) -> bool: ...

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        """Tell the platform the request arrived, before the slow work (Discord's and Slack's 3-second rule)."""
        ...

    async def refuse(self, text: str) -> None:
        """A known error, privately: before or after acknowledging."""
        ...

    async def withdraw(self, text: str) -> None:
        """An acknowledged comparison could not run: replace what the acknowledgement showed with ``text``."""
        ...

    async def tell(self, text: str) -> None:
        """Information for the person asking only."""
        ...

    async def show_comparison(self, comparison: Comparison) -> None:
        """Post the comparison, or update the message already posted; vote buttons once it is done."""
        ...

    async def show_reveal(self, reveal: Reveal) -> None:
        """The private reveal after a vote."""
        ...

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        """The public comparison message with its number of votes (never who voted)."""
        ...

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        """The tallies, with the ratings and their chart (PNG) where the surface shows them; ``heading`` names
        a slice (``Your votes``) when the board is not the whole arena's; ``private``: for the asker only."""
        ...

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None: ...

    async def send_file(self, path: Path, text: str) -> None:
        """Attach a file for the person asking only; refuse it (with the reason) when the platform cannot."""
        ...

    async def ask_follow_up(self, comparison_id: str) -> None:
        """Open a text box (a modal) for a follow-up to this comparison, as the immediate answer to a click; its
        text comes back as ``ChatFlow.follow_up``. A surface without one refuses, saying where to ask."""
        ...

    async def ask_reason(self, comparison_id: str) -> None:
        """Open a text box (``WHY_TITLE``) for why the person voted as they did, as the answer to the *Why?*
        click; what they write comes back to ``ChatFlow.reason``. A surface without boxes says how instead."""
        ...

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        """Ask the person asking, privately, with one button (``label``) carrying ``button_id``."""
        ...

    async def announce(self, places: Sequence[Place], text: str) -> None:
        """Post ``text`` publicly in each of ``places`` (channels of this surface's platform)."""
        ...
