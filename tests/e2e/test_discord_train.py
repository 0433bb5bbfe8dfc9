"""``/arena-train`` on the Discord bot against the local Discord peer: members are refused privately; an admin's
run that cannot start edits its status message with the reason and leaves the arena unchanged. (A real run's
progress and a killed run: tests/training/test_train_chat.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_discord import (  # noqa: F401 - fake is a fixture
    EPHEMERAL,
    MANAGE_GUILD,
    db_rows,
    fake,
    running_bot,
    settings_for,
)
from tests.peers.discord import FakeDiscord, slash_option


async def test_arena_train_is_for_admins_and_a_run_that_cannot_start_says_why(fake: FakeDiscord,  # noqa: F811
                                                                              tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    async with running_bot(fake, settings) as bot:
        done = bot.wait_for("app_command_completion", timeout=10)
        refused = await fake.dispatch_slash_command("arena-train", [slash_option("matchup", "pair")], permissions=0)
        await done
        answer = await fake.wait_for_callback(refused)
        assert answer.json["data"]["flags"] == EPHEMERAL
        assert "can start a training run" in answer.json["data"]["content"]

        done = bot.wait_for("app_command_completion", timeout=20)
        started = await fake.dispatch_slash_command("arena-train", [slash_option("matchup", "pair")],
                                                    permissions=MANAGE_GUILD)
        await done
        status = fake.messages[started.original_id or ""]["content"]
        assert status.startswith("Training failed: tuned-echo is served by echo, not from a local GGUF file")
        assert status.endswith("The arena is unchanged.")
        assert sorted(bot.service.matchups) == ["failing", "hostile", "long", "pair"]
    assert db_rows(tmp_path, "SELECT name FROM contenders") == []
    assert db_rows(tmp_path, "SELECT holder FROM training_slot") == []
