"""Votes and people on Discord, the real discord.py bot against the local peer: the *Why?* button's modal (a
reason stored, changed and exported), and /arena-forget-me with its confirmation (nothing left, no id logged)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.logs import PAYLOAD_LOGGERS
from tests.e2e.test_discord import TOKEN, click, db_rows, running_bot, settings_for, slash
from tests.peers.discord import EPHEMERAL, MANAGE_GUILD, DispatchedInteraction, FakeDiscord, slash_option
from tests.peers.discord.modals import ModalError, submit_modal

REASON = 'A gave steps, "B" rambled,\nthen repeated itself'


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord(token=TOKEN) as server:
        try:
            yield server
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def followup(fake: FakeDiscord, interaction: DispatchedInteraction, contains: str) -> Any:
    path = f"/webhooks/{fake.application_id}/{interaction.token}"
    return await fake.wait_for(lambda r: r.method == "POST" and r.path == path and contains in str(r.json), 10)


async def give_reason(fake: FakeDiscord, reveal: Any, user: dict[str, Any], reason: str) -> Any:
    """Click *Why?* under the reveal, fill in the modal, submit; returns the bot's private answer."""
    [why] = [b["custom_id"] for row in reveal.json["components"] for b in row["components"] if b["label"] == "Why?"]
    clicked = await fake.dispatch_component(why, user=user)
    opened = await fake.wait_for_callback(clicked)
    assert opened.json["type"] == 9 and opened.json["data"]["title"] == "Why this choice?"
    submitted = await submit_modal(fake, opened, {"reason": reason}, user=user)
    answer = await fake.wait_for_callback(submitted)
    assert answer.json["type"] == 5 and answer.json["data"]["flags"] == EPHEMERAL
    return await followup(fake, submitted, "reason")


async def admin_export(fake: FakeDiscord, bot: Any) -> list[dict[str, str]]:
    done = bot.wait_for("app_command_completion", timeout=10)
    asked = await fake.dispatch_slash_command("export", [slash_option("format", "csv")], permissions=MANAGE_GUILD)
    await done
    [upload] = (await followup(fake, asked, "exported")).files
    return list(csv.DictReader(io.StringIO(upload.data.decode(), newline="")))


async def test_why_modal_stores_changes_and_exports_the_reason(fake: FakeDiscord, tmp_path: Path) -> None:
    alice = fake.make_user("777", "alice")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        compared = await slash(fake, bot, "compare", prompt="Tell me how to train my dog to sit")
        _, reveal = await click(fake, compared, "a", alice)
        assert reveal.json["flags"] == EPHEMERAL

        recorded = await give_reason(fake, reveal, alice, "first thoughts")
        assert "Your reason is recorded: “first thoughts”" in recorded.json["content"]
        changed = await give_reason(fake, reveal, alice, REASON)
        assert "Send another to replace it" in changed.json["content"]
        assert db_rows(tmp_path, "SELECT voter, feedback FROM votes") == [("discord:777", REASON)]
        [row] = await admin_export(fake, bot)
        assert row["feedback"] == REASON and row["winner"] == "model_a"

        with pytest.raises(ModalError):  # Discord's form refuses an empty required field
            [why] = [b["custom_id"] for r in reveal.json["components"] for b in r["components"]]
            opened = await fake.wait_for_callback(await fake.dispatch_component(why, user=alice))
            await submit_modal(fake, opened, {"reason": ""}, user=alice)

        bob = fake.make_user("778", "bob")  # never voted here: told so, nothing stored
        clicked = await fake.dispatch_component(why, user=bob)
        refused = await submit_modal(fake, await fake.wait_for_callback(clicked), {"reason": "me too"}, user=bob)
        assert "Vote on this comparison first" in (await followup(fake, refused, "first")).json["content"]
    assert db_rows(tmp_path, "SELECT voter FROM votes") == [("discord:777",)]


async def test_forget_me_confirms_then_deletes_everything_and_logs_no_id(
        fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    carol, dave = fake.make_user("9876543210123", "carol"), fake.make_user("5555", "dave")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        theirs = await fake.dispatch_slash_command("compare", [slash_option("prompt", "What do you think of Mars?")],
                                                   user=carol)
        await fake.wait_for(lambda r: "0 votes so far" in str(r.json) and theirs.token in r.path, 10)
        _, reveal = await click(fake, theirs, "b", carol)
        await give_reason(fake, reveal, carol, "B is kinder")
        await click(fake, theirs, "a", dave)  # dave's vote on carol's comparison goes with it
        others = await slash(fake, bot, "compare", prompt="taylor swift's best friend")
        await click(fake, others, "tie", carol)
        await click(fake, others, "b", dave)

        caplog.set_level(logging.DEBUG)
        for name in PAYLOAD_LOGGERS:  # as setup_logging leaves them at -vv (tests/unit/test_logs.py checks it)
            caplog.set_level(logging.INFO, logger=name)
        caplog.clear()
        done = bot.wait_for("app_command_completion", timeout=10)
        asked = await fake.dispatch_slash_command("arena-forget-me", user=carol)
        await done
        question = await fake.wait_for_callback(asked)
        assert question.json["type"] == 4 and question.json["data"]["flags"] == EPHEMERAL
        assert "cannot be undone" in question.json["data"]["content"]
        assert db_rows(tmp_path, "SELECT count(*) FROM votes") == [(4,)]  # nothing deleted before the confirmation
        [button] = [b for row in question.json["data"]["components"] for b in row["components"]]
        confirmed = await fake.dispatch_component(button["custom_id"], user=carol)
        told = await followup(fake, confirmed, "Deleted")
        assert told.json["flags"] == EPHEMERAL
        assert ("Deleted: 2 votes (1 with a reason), 1 comparison you asked for and 1 vote others gave on them."
                in told.json["content"])
        logged = caplog.text
        rows = await admin_export(fake, bot)
    assert "forgot a member" in logged and "9876543210123" not in logged
    assert [(r["judge"], r["winner"]) for r in rows] == [(rows[0]["judge"], "model_b")]  # dave's vote on others
    assert "B is kinder" not in str(rows)
    assert db_rows(tmp_path, "SELECT voter FROM votes") == [("discord:5555",)]
    assert db_rows(tmp_path, "SELECT count(*) FROM comparisons WHERE requester = 'discord:9876543210123'") == [(0,)]


async def test_a_why_box_opened_before_a_restart_still_arrives(fake: FakeDiscord, tmp_path: Path) -> None:
    settings, alice = settings_for(fake, tmp_path), fake.make_user("779", "alice")
    async with running_bot(fake, settings) as bot:
        compared = await slash(fake, bot, "compare", prompt="What do you think of Mars?")
        _, reveal = await click(fake, compared, "b", alice)
        [why] = [b["custom_id"] for row in reveal.json["components"] for b in row["components"]]
        opened = await fake.wait_for_callback(await fake.dispatch_component(why, user=alice))
    async with running_bot(fake, settings):  # a new process never saw the box
        submitted = await submit_modal(fake, opened, {"reason": "B was on topic"}, user=alice)
        assert "Your reason is recorded" in (await followup(fake, submitted, "reason")).json["content"]
    assert db_rows(tmp_path, "SELECT feedback FROM votes") == [("B was on topic",)]
