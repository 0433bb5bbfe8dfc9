"""Channel control through the real discord.py bot and the local Discord peer: /arena-settings for members with
Manage Server only, ``show`` with each value's source, role allow-lists, a switched-off channel refusing an old
button, and /leaderboard scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from tests.e2e.test_discord import TOKEN, running_bot, settings_for
from tests.peers.discord import EPHEMERAL, MANAGE_GUILD, DispatchedInteraction, FakeDiscord, slash_option


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord(token=TOKEN, roles=("students",)) as server:
        try:
            yield server
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def run(fake: FakeDiscord, bot: discord.Client, name: str, options: list[dict[str, Any]],
              **how: Any) -> DispatchedInteraction:
    """Run a slash command and wait until its handler has returned."""
    done = bot.wait_for("app_command_completion", timeout=20)
    interaction = await fake.dispatch_slash_command(name, options, **how)
    await done
    return interaction


def sub(name: str, **options: Any) -> list[dict[str, Any]]:
    """A subcommand's options, as Discord nests them."""
    return [{"type": 1, "name": name, "options": [slash_option(k, v) for k, v in options.items()]}]


async def private_answer(fake: FakeDiscord, interaction: DispatchedInteraction) -> str:
    answer = (await fake.wait_for_callback(interaction, timeout=10)).json
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    return str(answer["data"]["content"])


async def test_admins_set_settings_members_are_refused_and_old_buttons_refuse_in_a_switched_off_channel(
        fake: FakeDiscord, tmp_path: Path) -> None:
    students = fake.role_ids["students"]
    student, outsider = fake.make_user("501", "stu"), fake.make_user("502", "out")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        put = await fake.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
        registered = {c["name"]: c for c in put.json}
        assert [o["name"] for o in registered["arena-settings"]["options"]] == ["show", "set", "reset"]
        assert "scope" in [o["name"] for o in registered["leaderboard"]["options"]]

        refused = await run(fake, bot, "arena-settings", sub("set", scope="channel", enabled=False), user=student)
        assert "Only members with the Manage Server permission" in await private_answer(fake, refused)

        compared = await run(fake, bot, "compare", [slash_option("prompt", "hi")], user=student)
        message = fake.messages[compared.original_id or ""]
        [old_button] = [b["custom_id"] for row in message["components"] for b in row["components"]
                        if b["custom_id"].endswith(":vote:a")]

        allowed = await run(fake, bot, "arena-settings", sub("set", scope="server", roles=f"<@&{students}>",
                                                             rate_limit=4), permissions=MANAGE_GUILD)
        assert "Saved for the whole server" in await private_answer(fake, allowed)
        outside = await run(fake, bot, "compare", [slash_option("prompt", "hi")], user=outsider)
        assert "you are not one of them" in await private_answer(fake, outside)
        inside = await run(fake, bot, "compare", [slash_option("prompt", "hi")], user=student, roles=(students,))
        assert (await fake.wait_for_callback(inside)).json["type"] == 5

        off = await run(fake, bot, "arena-settings", sub("set", scope="channel", enabled=False),
                        permissions=MANAGE_GUILD)
        assert "Saved for this channel" in await private_answer(fake, off)
        clicked = await fake.dispatch_component(old_button, message=message, user=student, roles=(students,))
        path = f"/webhooks/{fake.application_id}/{clicked.token}"
        told = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=10)
        assert told.json["flags"] == EPHEMERAL and told.json["content"] == "The arena is switched off in this channel."
        elsewhere = await run(fake, bot, "compare", [slash_option("prompt", "hi there")], user=student,
                              roles=(students,), channel_id=fake.other_channel_id)
        assert (await fake.wait_for_callback(elsewhere)).json["type"] == 5

        shown = await private_answer(fake, await run(fake, bot, "arena-settings", sub("show"), user=outsider))
        assert "• enabled: off (set for this channel)" in shown
        assert f"• roles: {students} (set for the whole server)" in shown
        assert "• matchup: pair (config file)" in shown
        assert "4 per 60 s (set for the whole server)" in shown

        reset = await run(fake, bot, "arena-settings", sub("reset", scope="channel", key="enabled"),
                          permissions=MANAGE_GUILD)
        assert "• enabled: on (config file)" in await private_answer(fake, reset)


async def test_leaderboard_scopes_count_the_members_the_channels_and_the_servers_votes(
        fake: FakeDiscord, tmp_path: Path) -> None:
    ann, bob = fake.make_user("601", "ann"), fake.make_user("602", "bob")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        for user, channel in ((ann, fake.channel_id), (bob, fake.other_channel_id)):
            compared = await run(fake, bot, "compare", [slash_option("prompt", "hi")], user=user, channel_id=channel)
            message = fake.messages[compared.original_id or ""]
            [button] = [b["custom_id"] for row in message["components"] for b in row["components"]
                        if b["custom_id"].endswith(":vote:tie")]
            clicked = await fake.dispatch_component(button, message=message, user=user)
            path = f"/webhooks/{fake.application_id}/{clicked.token}"
            await fake.wait_for(lambda r, p=path: r.method == "POST" and r.path == p, timeout=10)

        async def board(scope: str) -> dict[str, Any]:
            asked = await run(fake, bot, "leaderboard", [slash_option("scope", scope)], user=ann)
            path = f"/webhooks/{fake.application_id}/{asked.token}"
            posted = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=10)
            # A member's own board is theirs alone; the channel's and the server's are for everyone.
            assert posted.json.get("flags", 0) == (EPHEMERAL if scope == "me" else 0), posted.json
            return dict(posted.json["embeds"][0])

        mine, channel, server = await board("me"), await board("channel"), await board("server")
    def ties(embed: dict[str, Any]) -> str:
        [pair] = [f["value"] for f in embed["fields"] if f["name"] == "pair"]
        return str(pair.split(" · ")[2])

    assert mine["title"].endswith("Your votes") and ties(mine) == "tie 1"
    assert channel["title"].endswith("Votes in this channel") and ties(channel) == "tie 1"  # ann's, not bob's
    assert server["title"].endswith("Votes in this server") and ties(server) == "tie 2"
