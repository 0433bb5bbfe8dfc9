"""Self-test of the fake Discord's modals, threads and channel messages, over its REST API as Discord answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.peers.discord import FakeDiscord
from tests.peers.discord.messages import DiscordError
from tests.peers.discord.threads import THREAD_EXISTS, check_modal

TOKEN = "fake-bot-token"
GOOD_MODAL = {"title": "Follow up", "custom_id": "cmp:ab:followup", "components": [
    {"type": 1, "components": [{"type": 4, "custom_id": "text", "label": "Your message", "style": 2}]}]}


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeDiscord, aiohttp.ClientSession]]:
    async with FakeDiscord(token=TOKEN) as fake, aiohttp.ClientSession(
            base_url=fake.base_url, headers={"Authorization": f"Bot {TOKEN}"}) as session:
        yield fake, session


async def call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, "/api/v10" + path, json=body) as response:
        return response.status, await response.json()


async def test_a_thread_starts_once_per_message_and_takes_its_id(api: tuple[FakeDiscord, Any]) -> None:
    fake, session = api
    status, message = await call(session, "POST", f"/channels/{fake.channel_id}/messages", {"content": "hi"})
    assert status == 200 and message["author"]["id"] == fake.bot_user["id"]
    path = f"/channels/{fake.channel_id}/messages/{message['id']}/threads"
    status, thread = await call(session, "POST", path, {"name": "Conversation: hi"})
    assert status == 201 and thread["id"] == message["id"] and thread["type"] == 11
    assert thread["parent_id"] == fake.channel_id
    status, error = await call(session, "POST", path, {"name": "again"})
    assert status == 400 and error["code"] == THREAD_EXISTS
    status, inside = await call(session, "POST", f"/channels/{thread['id']}/messages", {"content": "in the thread"})
    assert status == 200 and inside["channel_id"] == thread["id"]
    status, error = await call(session, "POST", f"/channels/{thread['id']}/messages/{inside['id']}/threads",
                               {"name": "nested"})
    assert status == 400 and error["code"] == 50024  # no thread inside a thread
    status, edited = await call(session, "PATCH", f"/channels/{thread['id']}/messages/{inside['id']}",
                                {"content": "edited"})
    assert status == 200 and edited["content"] == "edited" and edited["edited_timestamp"]


async def test_channel_messages_are_checked_as_discord_checks_them(api: tuple[FakeDiscord, Any]) -> None:
    fake, session = api
    assert (await call(session, "POST", "/channels/999/messages", {"content": "x"}))[1]["code"] == 10003
    assert (await call(session, "POST", f"/channels/{fake.channel_id}/messages", {}))[1]["code"] == 50006
    status, error = await call(session, "POST", f"/channels/{fake.channel_id}/messages", {"content": "x" * 2001})
    assert status == 400 and error["code"] == 50035
    status, error = await call(session, "POST", f"/channels/{fake.channel_id}/messages/123/threads", {"name": "t"})
    assert status == 404 and error["code"] == 10008
    async with aiohttp.ClientSession(base_url=fake.base_url) as anonymous:
        assert (await call(anonymous, "POST", f"/channels/{fake.channel_id}/messages", {"content": "x"}))[0] == 401


@pytest.mark.parametrize("change", [
    {"title": "x" * 46},
    {"title": ""},
    {"components": []},
    {"components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "x" * 46}]}]},
    {"components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "A"},
                                                {"type": 4, "custom_id": "b", "label": "B"}]}]},
    {"components": [{"type": 1, "components": [{"type": 4, "label": "A"}]}]},
    {"components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "A", "max_length": 4001}]}]},
])
def test_modals_beyond_discords_limits_are_refused(change: dict[str, Any]) -> None:
    check_modal(GOOD_MODAL)
    with pytest.raises(DiscordError) as refused:
        check_modal({**GOOD_MODAL, **change})
    assert refused.value.code == 50035
