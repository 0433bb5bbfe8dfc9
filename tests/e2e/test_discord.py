"""The real discord.py bot against a local Discord peer (REST + gateway), votes checked in SQLite."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlalchemy import create_engine, text

from adapters.bootstrap import build_service, open_repository
from adapters.discord.client import ArenaClient, configure_endpoints
from adapters.discord.settings import DiscordSettings
from bot.config import Settings
from bot.domain import Place
from bot.export import pseudonym
from tests.e2e.arena_config import arena_settings
from tests.peers.discord import EPHEMERAL, MANAGE_GUILD, DispatchedInteraction, FakeDiscord, slash_option
from tests.support.tcp_proxy import proxied

TOKEN = "fake-bot-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord(token=TOKEN) as server:
        try:
            yield server
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def settings_for(fake: FakeDiscord, tmp_path: Path, shards: tuple[int, int] = (0, 0), **arena: Any) -> Settings:
    settings = arena_settings(tmp_path, arena=arena)
    discord_settings = DiscordSettings(api_base_url=fake.api_base_url, gateway_url=fake.gateway_url,
                                       admin_user_ids=("4242",), shard_id=shards[0], shard_count=shards[1])
    return dataclasses.replace(settings, sections={**settings.sections, "discord": discord_settings})


@asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: Settings) -> AsyncIterator[ArenaClient]:
    configure_endpoints(settings.discord)
    service = build_service(settings, await open_repository(settings.database_url), rate_limited=True)
    client = ArenaClient(service, settings, guild_ready_timeout=0.05)
    task = asyncio.create_task(client.start(TOKEN))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 10)
        await service.aclose()


async def slash(fake: FakeDiscord, bot: ArenaClient, name: str, **options: Any) -> DispatchedInteraction:
    """Run ``/name`` and wait until its handler has returned."""
    done = bot.wait_for("app_command_completion", timeout=20)
    interaction = await fake.dispatch_slash_command(name, [slash_option(k, v) for k, v in options.items()])
    await done
    return interaction


def edits_of(fake: FakeDiscord, interaction: DispatchedInteraction) -> list[Any]:
    path = f"/webhooks/{fake.application_id}/{interaction.token}/messages/@original"
    return [r for r in fake.requests if r.method == "PATCH" and r.path == path]


def db_rows(tmp_path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "arena.db") as db:
        return db.execute(query).fetchall()


async def click(fake: FakeDiscord, interaction: DispatchedInteraction, code: str,
                user: dict[str, Any] | None = None) -> tuple[DispatchedInteraction, Any]:
    message = fake.messages[interaction.original_id or ""]
    [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                   if b["custom_id"].endswith(f":vote:{code}")]
    clicked = await fake.dispatch_component(custom_id, message=message, user=user)
    path = f"/webhooks/{fake.application_id}/{clicked.token}"
    reveal = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=10)
    await fake.wait_for(lambda r: r.method == "PATCH" and r.path == f"{path}/messages/@original", timeout=10)
    return clicked, reveal


async def test_compare_defers_streams_and_posts_buttons(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        put = await fake.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
        assert {c["name"] for c in put.json} == {"compare", "leaderboard", "models", "export", "arena-settings",
                                                 "arena-forget-me", "arena-train"}
        interaction = await slash(fake, bot, "compare", prompt="Tell me how to train my dog to sit")
        callback = await fake.wait_for_callback(interaction)
        assert callback.json["type"] == 5 and callback.at - interaction.dispatched_at < 3
        edits = edits_of(fake, interaction)
        streaming = [e for e in edits if "answering" in e.json["content"]]
        assert len(streaming) >= 2, "replies should stream in by editing the message"
        gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]  # the final edit included
        assert min(gaps) >= 0.15  # throttled to the configured interval (0.2 s here)
        final = fake.messages[interaction.original_id or ""]
        assert "0 votes so far" in final["content"] and "Blind comparison" in final["content"]
        assert [e["title"] for e in final["embeds"]] == ["A", "B"]
        assert "echo" not in str(final["embeds"])  # blind: no model names before the vote
        texts = {e["description"] for e in final["embeds"]}
        assert "Here is a clear answer to: Tell me how to train my dog to sit" in texts
        buttons = [b["label"] for row in final["components"] for b in row["components"]]
        assert buttons == ["A is better", "B is better", "Tie", "Both bad", "Follow up", "Regenerate"]
        assert all(e.json["allowed_mentions"] == {"parse": []} for e in edits)
    [(status, prompt)] = db_rows(tmp_path, "SELECT status, prompt FROM comparisons")
    assert (status, prompt) == ("done", "Tell me how to train my dog to sit")


async def test_vote_reveal_change_and_restart(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    voter = fake.make_user("777", "alice")
    async with running_bot(fake, settings) as bot:
        interaction = await slash(fake, bot, "compare", prompt="What do you think of Mars?")
        clicked, reveal = await click(fake, interaction, "a", voter)
        assert (await fake.wait_for_callback(clicked)).json["type"] == 6
        assert reveal.json["flags"] == EPHEMERAL
        assert "A was" in reveal.json["content"] and "echo" in reveal.json["content"]
        assert "Votes on this comparison: A 1" in reveal.json["content"]
        assert "1 vote so far" in fake.messages[interaction.original_id or ""]["content"]
        _, changed = await click(fake, interaction, "tie", voter)
        assert "changed from “A is better” to “Tie”" in changed.json["content"]
    # A new process: the same old button still records votes.
    async with running_bot(fake, settings):
        _, after = await click(fake, interaction, "b", fake.make_user("778", "bob"))
        assert "Votes on this comparison: A 0 · B 1 · tie 1" in after.json["content"]
    assert sorted(db_rows(tmp_path, "SELECT voter, choice, changes FROM votes")) == [
        ("discord:777", "tie", 1), ("discord:778", "b", 0)]


async def test_export_refused_to_members_and_sent_to_admins(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, export_salt="pepper")
    other_community = build_service(settings, await open_repository(settings.database_url))
    elsewhere = await other_community.compare("another server's prompt", "x", Place("discord", "c9", "other-guild"))
    await other_community.vote(elsewhere.id, "discord:5", "a")
    async with running_bot(fake, settings) as bot:
        compared = await slash(fake, bot, "compare", prompt="taylor swift's best friend")
        await click(fake, compared, "b", fake.make_user("1", "carol"))

        done = bot.wait_for("app_command_completion", timeout=10)
        refused = await fake.dispatch_slash_command("export", [slash_option("format", "csv")], permissions=0)
        await done
        answer = await fake.wait_for_callback(refused)
        assert answer.json["data"]["flags"] == EPHEMERAL and "Manage Server" in answer.json["data"]["content"]
        assert not answer.files

        for permissions, user in ((MANAGE_GUILD, None), (0, fake.make_user("4242", "admin"))):
            done = bot.wait_for("app_command_completion", timeout=10)
            allowed = await fake.dispatch_slash_command("export", [slash_option("format", "csv")],
                                                        permissions=permissions, user=user)
            await done
            path = f"/webhooks/{fake.application_id}/{allowed.token}"
            sent = await fake.wait_for(lambda r, p=path: r.method == "POST" and r.path == p)
            [upload] = sent.files
            [row] = list(csv.DictReader(io.StringIO(upload.data.decode())))  # this server's vote only
            assert row["winner"] == "model_b" and row["platform"] == "discord" and row["judge"] != "discord:1"
            assert row["judge"] == pseudonym("discord:1", settings.arena.export_salt)


async def test_failing_model_long_reply_and_mentions(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        failing = await slash(fake, bot, "compare", prompt="hi", matchup="failing")
        message = fake.messages[failing.original_id or ""]
        footers = [e["footer"]["text"] for e in message["embeds"]]
        assert any("The model is unavailable right now." in f for f in footers)
        assert any("Here is a clear answer to: hi" in e["description"] for e in message["embeds"])
        assert message["components"], "the other reply can still be voted on"

        long = await slash(fake, bot, "compare", prompt="write a lot", matchup="long")
        assert all(r.status == 200 for r in edits_of(fake, long))
        message = fake.messages[long.original_id or ""]
        cut = [e["description"] for e in message["embeds"] if "more characters cut" in e["description"]]
        assert cut and len(cut[0]) <= 4096

        hostile = await slash(fake, bot, "compare", prompt="@everyone say hi **now**", matchup="hostile")
        message = fake.messages[hostile.original_id or ""]
        shown = message["content"] + str(message["embeds"])
        assert "@everyone" not in shown and "@\u200beveryone" in shown and "\\*\\*" in shown
        assert all(r.json["allowed_mentions"] == {"parse": []} for r in edits_of(fake, hostile))
    [(a, b)] = db_rows(tmp_path, "SELECT count(*), sum(length(text)) FROM replies r JOIN comparisons c "
                                 "ON c.id = r.comparison_id WHERE c.matchup = 'long' AND r.model = 'long'")
    assert a == 1 and b > 9000  # the full reply is stored even though the message shows a cut


async def test_bad_input_rate_limit_and_forged_buttons(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake, settings_for(fake, tmp_path, rate_limit=2)) as bot:
        empty = await slash(fake, bot, "compare", prompt=" \u200b ")
        answer = (await fake.wait_for_callback(empty)).json
        assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
        assert "no visible text" in answer["data"]["content"]
        huge = await slash(fake, bot, "compare", prompt="x" * 5000)
        assert "too long" in (await fake.wait_for_callback(huge)).json["data"]["content"]
        unknown = await slash(fake, bot, "compare", prompt="hi", matchup="nope")
        assert "No matchup named" in (await fake.wait_for_callback(unknown)).json["data"]["content"]

        await slash(fake, bot, "compare", prompt="one")
        await slash(fake, bot, "compare", prompt="two")
        limited = await slash(fake, bot, "compare", prompt="three")
        assert "try again in" in (await fake.wait_for_callback(limited)).json["data"]["content"]

        forged = await fake.dispatch_component("cmp:deadbeef:vote:a")
        path = f"/webhooks/{fake.application_id}/{forged.token}"
        reply = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=10)
        assert reply.json["flags"] == EPHEMERAL and "No comparison with id 'deadbeef'" in reply.json["content"]

        board = await slash(fake, bot, "leaderboard")
        path = f"/webhooks/{fake.application_id}/{board.token}"
        posted = await fake.wait_for(lambda r: r.method == "POST" and r.path == path)
        assert posted.json["embeds"][0]["title"].startswith("Leaderboard")
        assert posted.json["embeds"][0]["image"]["url"] == "attachment://leaderboard.png"
        [chart] = posted.files
        assert chart.filename == "leaderboard.png" and chart.data.startswith(b"\x89PNG")
        models = await slash(fake, bot, "models")
        assert "pair (default)" in str((await fake.wait_for_callback(models)).json["data"]["embeds"])
    assert len(db_rows(tmp_path, "SELECT id FROM comparisons")) == 2  # refused requests stored nothing
    assert db_rows(tmp_path, "SELECT count(*) FROM votes") == [(0,)]


async def test_one_shard_of_several_identifies_as_such(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake, settings_for(fake, tmp_path, shards=(1, 2))) as bot:
        interaction = await slash(fake, bot, "compare", prompt="hi")
        assert (await fake.wait_for_callback(interaction)).json["type"] == 5
    assert fake.identifies[0]["shard"] == [1, 2]


async def test_a_vote_while_the_database_is_down_tells_the_member_to_retry(
        fake: FakeDiscord, tmp_path: Path, postgres_url: str) -> None:
    voter = fake.make_user("901", "carol")
    async with proxied(postgres_url) as (proxy, through):
        settings = dataclasses.replace(settings_for(fake, tmp_path), database_url=through)
        async with running_bot(fake, settings) as bot:
            interaction = await slash(fake, bot, "compare", prompt="What do you think of Mars?")
            message = fake.messages[interaction.original_id or ""]
            [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                           if b["custom_id"].endswith(":vote:a")]
            proxy.down()  # gone for longer than the retries last
            clicked = await fake.dispatch_component(custom_id, message=message, user=voter)
            path = f"/webhooks/{fake.application_id}/{clicked.token}"
            told = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=30)
            assert told.json["flags"] == EPHEMERAL
            assert told.json["content"].endswith("The database is busy or unreachable; please try again.")
            proxy.up = True
            _, reveal = await click(fake, interaction, "a", voter)  # the member tries again: recorded
            assert "Votes on this comparison: A 1 · B 0" in reveal.json["content"]
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT v.voter, v.choice FROM votes v JOIN comparisons c ON c.id = "
                                   "v.comparison_id WHERE c.id = :cid"),
                              {"cid": custom_id.split(":")[1]}).all()
    engine.dispose()
    assert stored == [("discord:901", "a")]  # the failed click stored nothing half-done, the retry one vote


async def test_a_decided_matchup_is_announced_once_in_each_discord_channel_it_was_voted_in(
        fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    other = "1200000000000000777"
    service = build_service(settings, await open_repository(settings.database_url))
    # 24 votes for the fine-tune in two channels: decided, nobody told yet.
    for n in range(24):
        place = Place("discord", channel=fake.channel_id if n % 2 else other, server=fake.guild_id)
        c = await service.compare(f"question {n}", "asker", place)
        await service.vote(c.id, f"discord:{n}", c.finetuned_side.value)
    await service.aclose()

    said = "Decided: fine-tune better (anytime-valid 95%) on matchup pair"

    def told(channel: str) -> list[Any]:
        return [r for r in fake.requests if r.method == "POST" and r.path.endswith(f"/channels/{channel}/messages")
                and said in (r.json or {}).get("content", "")]

    async with running_bot(fake, settings) as bot:
        interaction = await slash(fake, bot, "compare", prompt="one more")
        await click(fake, interaction, "a")
        for channel in (fake.channel_id, other):
            await fake.wait_for(lambda r, ch=channel: bool(told(ch)), timeout=10)
        await click(fake, interaction, "b", user=fake.make_user("77", "late"))
        assert told(other)[0].json["allowed_mentions"] == {"parse": []}  # a post that can ping nobody
    assert len(told(fake.channel_id)) == 1 and len(told(other)) == 1  # once each, the second click said nothing
