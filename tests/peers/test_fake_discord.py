"""Self-test of the fake Discord: the real discord.py client logs in, syncs, and answers interactions."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from tests.peers.fake_discord import EPHEMERAL, FakeDiscord, point_discord_py_at

TOKEN = "fake-bot-token"


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cmp:(?P<id>[a-z0-9]+):vote:(?P<c>a|b)"
):
    """A persistent button whose state lives in its custom_id."""

    def __init__(self, comparison_id: str, choice: str) -> None:
        super().__init__(discord.ui.Button(label=f"Vote {choice}", custom_id=f"cmp:{comparison_id}:vote:{choice}"))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["id"], match["c"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)


class PingBot(discord.Client):
    """Minimal bot: ``/ping`` defers, then follows up with a vote button."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ping", description="Answer pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            view = discord.ui.View(timeout=None)
            view.add_item(VoteButton("abc", "a"))
            await interaction.followup.send("pong", view=view)

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


@pytest.mark.asyncio
async def test_slash_command_defer_followup_and_button(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        assert bot.get_guild(int(fake.guild_id)) is not None
        put = await fake.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
        assert put.path == f"/applications/{fake.application_id}/commands"
        assert [command["name"] for command in put.json] == ["ping"]

        ping = await fake.dispatch_slash_command("ping")
        defer = await fake.wait_for_callback(ping)
        assert defer.json["type"] == 5
        followup = await fake.wait_for(
            lambda r: r.method == "POST" and r.path == f"/webhooks/{fake.application_id}/{ping.token}"
        )
        assert followup.status == 200
        assert followup.json["content"] == "pong"

        message = fake.messages[ping.original_id or ""]  # the follow-up replaced the "thinking" message
        assert message["content"] == "pong"
        [button] = message["components"][0]["components"]
        assert button["custom_id"] == "cmp:abc:vote:a"

        click = await fake.dispatch_component(button["custom_id"], message=message)
        answer = await fake.wait_for_callback(click)
        assert answer.status == 200
        assert answer.json == {"type": 4, "data": answer.json["data"]}
        assert answer.json["data"]["content"] == "ok"
        assert answer.json["data"]["flags"] == EPHEMERAL

    assert fake.identifies[0]["intents"] == discord.Intents.default().value
    assert fake.heartbeat_count >= 1


@pytest.mark.asyncio
async def test_second_client_connects_after_first_closed(fake: FakeDiscord) -> None:
    for _ in range(2):
        async with running(PingBot()):
            ping = await fake.dispatch_slash_command("ping")
            assert (await fake.wait_for_callback(ping)).json["type"] == 5
    assert len(fake.identifies) == 2


@pytest.mark.asyncio
async def test_unknown_route_is_recorded_and_answers_discord_404(fake: FakeDiscord) -> None:
    async with running(PingBot()) as bot:
        with pytest.raises(discord.NotFound) as caught:
            await bot.http.request(discord.http.Route("GET", "/nowhere/{x}", x="1"))
    assert caught.value.text == "404: Not Found"
    assert (await fake.wait_for(lambda r: r.path == "/nowhere/1")).status == 404


@pytest.mark.asyncio
async def test_gateway_without_compression_speaks_plain_json(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{fake.gateway_url}?v=10&encoding=json") as ws:
        hello = json.loads(await ws.receive_str(timeout=5))
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}}})
        ready = json.loads(await ws.receive_str(timeout=5))
        assert (ready["t"], ready["s"]) == ("READY", 1)
    assert fake.identifies == [{"token": "<redacted>", "intents": 1, "properties": {}}]
