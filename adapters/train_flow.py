"""``/arena-train`` on any chat surface: an admin starts a training run of the next fine-tune from a matchup's
votes; one status message shows its progress and, at the end, the new contender (live at once) or why the run
failed (the arena unchanged). The run itself is ``training.pipeline``: a child process, never this event loop."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from adapters.flow import Surface
from bot.errors import ArenaError
from bot.registry import Contender
from bot.service import ArenaService
from training.pipeline import TrainRequest, train_contender
from training.runner import Progress

log = logging.getLogger(__name__)

# Chat platforms rate-limit message edits; a training step takes seconds anyway.
EDIT_EVERY_S = 5.0
TRAIN_COMMAND = "/arena-train"


def train_refused(admins: str) -> str:
    return f"Only {admins} can start a training run."


def starting(matchup: str) -> str:
    return f"Training the next fine-tune from the votes on {matchup}: checking the votes…"


def started(name: str, examples: int) -> str:
    return f"Training {name} on {examples} examples: loading the parent model…"


def progress_line(name: str, progress: Progress) -> str:
    figures = [f"step {progress.step}/{progress.steps}"]
    if progress.loss is not None:
        figures.append(f"loss {progress.loss:.3f}")
    if progress.reward_margin is not None:
        figures.append(f"reward margin {progress.reward_margin:.3f}")
    if progress.eta_s is not None:
        figures.append(f"about {max(1, round(progress.eta_s / 60))} min left")
    return f"Training {name}: " + ", ".join(figures)


def live(contender: Contender) -> str:
    return (f"{contender.name} is live: trained on {contender.votes} votes, it now meets its parent "
            f"{contender.parent} in the matchup {contender.name}. Try /compare matchup:{contender.name}.")


def failed(reason: str) -> str:
    return f"Training failed: {reason} The arena is unchanged."


class StatusSurface(Surface, Protocol):
    """A surface that can keep one status message for the channel (Discord, Slack)."""

    async def show_status(self, text: str) -> None:
        """Post the status, or edit the one this request already posted."""
        ...


class TrainingChat:
    """Chat runs take the default hyper-parameters (``defaults``): tuning them is for ``ftarena train``."""

    def __init__(self, service: ArenaService, adapters_dir: Path, *, defaults: TrainRequest | None = None,
                 edit_every_s: float = EDIT_EVERY_S) -> None:
        self.service = service
        self.adapters_dir = adapters_dir
        self.defaults = defaults or TrainRequest(matchup=None)
        self.edit_every_s = edit_every_s

    async def train(self, surface: StatusSurface, matchup: str | None = None) -> Contender | None:
        """Admins only. Acknowledge -> status -> progress edits -> the new contender, or the reason it failed."""
        if not surface.is_admin():
            await surface.refuse(train_refused(surface.admins))
            return None
        try:
            name = self.service.matchup(matchup).name
        except ArenaError as exc:
            await surface.refuse(exc.user_message)
            return None
        await surface.acknowledge()
        await self._status(surface, starting(name))
        running = {"name": name}
        last_edit = [-float("inf")]

        async def on_start(new: str, examples: int) -> None:
            running["name"] = new
            await self._status(surface, started(new, examples))

        async def on_progress(progress: Progress) -> None:
            now = time.monotonic()
            if now - last_edit[0] >= self.edit_every_s or progress.step == progress.steps:
                last_edit[0] = now
                await self._status(surface, progress_line(running["name"], progress))

        try:
            contender = await train_contender(self.service, replace(self.defaults, matchup=name), self.adapters_dir,
                                              on_progress=on_progress, on_start=on_start)
        except ArenaError as exc:
            await self._status(surface, failed(exc.user_message))
            return None
        except Exception:
            log.exception("training run on %s failed unexpectedly", name)
            await self._status(surface, failed("something went wrong on our side; the error is logged."))
            return None
        await self._status(surface, live(contender))
        return contender

    @staticmethod
    async def _status(surface: StatusSurface, text: str) -> None:
        """Show ``text``; a platform refusing an edit (Discord ends an interaction's edits after 15 minutes)
        must not stop the run, whose result the registry keeps either way."""
        try:
            await surface.show_status(text)
        except Exception:
            log.warning("could not show the training status %r", text[:80], exc_info=True)
