"""Self-test of the fake Discord: the real discord.py client logs in, syncs, and answers interactions."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from tests.peers.discord import EPHEMERAL, DispatchedInteraction, FakeDiscord, point_discord_py_at

TOKEN = "fake-bot-token"


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cmp:(?P<id>[a-z0-9]+):vote:(?P<c>a|b)"):
    """A persistent button whose state lives in its custom_id."""

    def __init__(self, comparison_id: str, choice: str) -> None:
        self.choice = choice
        custom_id = f"cmp:{comparison_id}:vote:{choice}"
        super().__init__(discord.ui.Button(label=f"Vote {choice}", custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["id"], match["c"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)
        interaction.client.dispatch("vote_answered", self.choice)


class PingBot(discord.Client):
    """Minimal bot: ``/ping`` defers, then follows up with a vote button; ``/report`` sends a file."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ping", description="Answer pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            view = discord.ui.View(timeout=None)
            view.add_item(VoteButton("abc", "a"))
            await interaction.followup.send("pong", view=view)

        @self.tree.command(name="report", description="Answer with a file")
        async def report(interaction: discord.Interaction) -> None:
            file = discord.File(io.BytesIO(b"a,b\n1,2\n"), filename="report.csv")
            await interaction.response.send_message("here", file=file)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton)
        await self.tree.sync()


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN) as server:
        restore = point_discord_py_at(server.api_base_url, server.gateway_url)
        try:
            yield server
        finally:
            restore()


@asynccontextmanager
async def running(client: discord.Client) -> AsyncIterator[discord.Client]:
    """Run ``client`` until it is ready; close it cleanly on exit."""
    task = asyncio.create_task(client.start(TOKEN))
    try:
        await asyncio.wait_for(client.wait_until_ready(), timeout=5)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, timeout=5)


async def run_command(fake: FakeDiscord, bot: discord.Client, name: str) -> DispatchedInteraction:
    """Run ``/name`` until the command returned, so none of its requests is in flight afterwards."""
    completed = bot.wait_for("app_command_completion", timeout=5)  # registers the listener right away
    interaction = await fake.dispatch_slash_command(name)
    await completed
    return interaction


@pytest.mark.asyncio
async def test_slash_command_defer_followup_and_button(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        assert bot.get_guild(int(fake.guild_id)) is not None
        put = await fake.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
        assert put.path == f"/applications/{fake.application_id}/commands"
        assert sorted(command["name"] for command in put.json) == ["ping", "report"]

        ping = await run_command(fake, bot, "ping")
        assert (await fake.wait_for_callback(ping)).json["type"] == 5
        followup_path = f"/webhooks/{fake.application_id}/{ping.token}"
        followup = await fake.wait_for(lambda r: r.method == "POST" and r.path == followup_path)
        assert (followup.status, followup.json["content"]) == (200, "pong")

        message = fake.messages[ping.original_id or ""]  # the follow-up replaced the "thinking" message
        assert message["content"] == "pong"
        [button] = message["components"][0]["components"]
        assert button["custom_id"] == "cmp:abc:vote:a"

        voted = bot.wait_for("vote_answered", timeout=5)
        click = await fake.dispatch_component(button["custom_id"], message=message)
        assert await voted == "a"
        answer = await fake.wait_for_callback(click)
        assert (answer.status, answer.json["type"]) == (200, 4)
        assert (answer.json["data"]["content"], answer.json["data"]["flags"]) == ("ok", EPHEMERAL)

    assert fake.identifies[0]["intents"] == discord.Intents.default().value
    assert fake.heartbeat_count >= 1


@pytest.mark.asyncio
async def test_file_upload_is_parsed_from_multipart(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        report = await run_command(fake, bot, "report")
        callback = await fake.wait_for_callback(report)
        assert callback.json["data"]["content"] == "here"
        [upload] = callback.files
        assert (upload.field, upload.filename, upload.data) == ("files[0]", "report.csv", b"a,b\n1,2\n")
        [attachment] = fake.messages[report.original_id or ""]["attachments"]
        assert await bot.http.get_from_cdn(attachment["url"]) == b"a,b\n1,2\n"


@pytest.mark.asyncio
async def test_second_client_connects_after_first_closed(fake: FakeDiscord) -> None:
    for _ in range(2):
        async with running(PingBot()) as bot:
            await run_command(fake, bot, "ping")
    assert len(fake.identifies) == 2


@pytest.mark.asyncio
async def test_reconnect_request_is_followed_by_resume(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        resumed = bot.wait_for("resumed", timeout=5)  # registers the listener right away
        await fake.request_reconnect()
        await resumed
        await run_command(fake, bot, "ping")
    [resume] = [frame.d for frame in fake.gateway_frames if frame.op == 6]
    assert resume["seq"] >= 2
    assert len(fake.identifies) == 1


@pytest.mark.asyncio
async def test_unknown_route_is_recorded_and_answers_discord_404(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        with pytest.raises(discord.NotFound) as caught:
            await bot.http.request(discord.http.Route("GET", "/nowhere/{x}", x="1"))
    assert caught.value.text == "404: Not Found"
    assert (await fake.wait_for(lambda r: r.path == "/nowhere/1")).status == 404


async def receive_frame(ws: aiohttp.ClientWebSocketResponse, inflate: Any) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    text = message.data if inflate is None else inflate.decompress(message.data)
    return dict(json.loads(text))


@pytest.mark.asyncio
@pytest.mark.parametrize("compress", [None, "zlib-stream"])
async def test_gateway_frames_honour_the_compress_parameter(fake: FakeDiscord, compress: str | None) -> None:
    url = f"{fake.gateway_url}?v=10&encoding=json" + (f"&compress={compress}" if compress else "")
    inflate = zlib.decompressobj() if compress else None
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        assert (await receive_frame(ws, inflate))["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}}})
        ready = await receive_frame(ws, inflate)
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert (await receive_frame(ws, inflate))["t"] == "GUILD_CREATE"
    assert fake.identifies == [{"token": "<redacted>", "intents": 1, "properties": {}}]


@pytest.mark.asyncio
async def test_member_roles_permissions_and_the_second_channel_reach_discord_py() -> None:
    """The guild's roles come with GUILD_CREATE, so discord.py resolves a member's role ids to roles, as it does
    on Discord; an interaction may come from the guild's second channel."""
    async with FakeDiscord(token=TOKEN, roles=("students", "staff")) as fake:
        restore = point_discord_py_at(fake.api_base_url, fake.gateway_url)
        seen: list[tuple[list[str], bool, int | None]] = []
        bot = PingBot()

        @bot.tree.command(name="whoami", description="Say what Discord says about the member")
        async def whoami(interaction: discord.Interaction) -> None:
            member = interaction.user
            assert isinstance(member, discord.Member)
            seen.append(([role.name for role in member.roles if not role.is_default()],
                         interaction.permissions.manage_guild, interaction.channel_id))
            await interaction.response.send_message("ok", ephemeral=True)

        try:
            async with running(bot):
                guild = bot.get_guild(int(fake.guild_id))
                assert guild is not None and {c.id for c in guild.text_channels} == {
                    int(fake.channel_id), int(fake.other_channel_id)}
                done = bot.wait_for("app_command_completion", timeout=5)
                await fake.dispatch_slash_command("whoami", roles=(fake.role_ids["staff"],), permissions=1 << 5,
                                                  channel_id=fake.other_channel_id)
                await done
        finally:
            restore()
    assert seen == [(["staff"], True, int(fake.other_channel_id))]
