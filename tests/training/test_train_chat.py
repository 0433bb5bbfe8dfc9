"""``/arena-train`` through the chat flow on a recording surface, on real SQLite votes and a real training worker:
members are refused, and a run killed mid-way says so in its status message and leaves the arena unchanged."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import load_settings, open_service
from adapters.train_flow import TrainingChat
from bot.domain import Place
from bot.ports import ContenderRegistry
from tests.support.votes import seed_votes
from tests.training.conftest import PAIRS, needs_train_extra
from training.params import TrainParams
from training.pipeline import TrainRequest


class StatusRecorder:
    """A surface keeping what it was asked to show; ``on_status`` sees each status as it is shown."""

    admins = "the test's admins"
    export_command = "/export"
    streams = True
    shows_ratings = False
    update_interval = 0.0
    voter = "test:admin"
    place = Place("test", "c1", "s1")

    def __init__(self, admin: bool = True) -> None:
        self.admin = admin
        self.calls: list[tuple[str, Any]] = []

    def is_admin(self) -> bool:
        return self.admin

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        self.calls.append(("acknowledge", private))

    async def refuse(self, text: str) -> None:
        self.calls.append(("refuse", text))

    async def show_status(self, text: str) -> None:
        self.calls.append(("status", text))
        if text.startswith("Training smollm2-135m-instruct+dpo-1: step 1/"):
            kill_worker()

    def statuses(self) -> list[str]:
        return [text for name, text in self.calls if name == "status"]


def kill_worker() -> None:
    import psutil

    for child in psutil.Process().children(recursive=True):
        if "training.run" in " ".join(child.cmdline()):
            os.kill(child.pid, signal.SIGKILL)


@pytest.mark.slow
async def test_a_run_killed_mid_way_says_why_and_leaves_the_arena_unchanged(tmp_path: Path) -> None:
    needs_train_extra()
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    await seed_votes(url, PAIRS)
    service = await open_service(replace(load_settings(None, {}), database_url=url))
    chat = TrainingChat(service, tmp_path / "trained", edit_every_s=0)
    before = dict(service.matchups)
    try:
        member = StatusRecorder(admin=False)
        assert await chat.train(member, "embedded") is None
        assert member.calls == [("refuse", "Only the test's admins can start a training run.")]
        # The default run needs 20 pairs; six votes are not enough, and the status says so.
        short = StatusRecorder()
        assert await chat.train(short, "embedded") is None
        assert short.statuses()[-1].startswith("Training failed: Only 6 usable preference pairs")

        admin = StatusRecorder()
        quick = TrainParams(lora_r=4, lora_alpha=8, max_length=64, batch_size=1, max_steps=3)
        chat = TrainingChat(service, tmp_path / "trained", defaults=TrainRequest(None, quick, min_pairs=6),
                            edit_every_s=0)
        assert await chat.train(admin, "embedded") is None
        shown = admin.statuses()
        assert shown[0] == "Training the next fine-tune from the votes on embedded: checking the votes…"
        assert shown[1] == "Training smollm2-135m-instruct+dpo-1 on 6 examples: loading the parent model…"
        assert shown[2].startswith("Training smollm2-135m-instruct+dpo-1: step 1/3, loss 0.693")
        assert shown[-1] == ("Training failed: The training process was killed (SIGKILL); nothing was saved. "
                             "The arena is unchanged.")
        assert isinstance(service.repository, ContenderRegistry)
        assert await service.repository.contenders(include_retired=True) == []
        assert service.matchups == before and list((tmp_path / "trained").iterdir()) == []
        now = datetime.now(UTC)
        assert await service.repository.claim_training("next-run", now, now) is None  # the slot is free
    finally:
        await service.aclose()
