"""Channel control through the real slack-bolt app and the local Slack peer: /arena-settings for
``slack.admin_user_ids`` only, ``show`` with each value's source, user allow-lists, a switched-off channel
refusing an old button privately, and /leaderboard scopes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.test_slack import SECRET, button_value, command, finished_message, http_app, settings_for
from tests.peers.slack import (
    FakeSlack,
    block_actions_payload,
    form_body,
    interactive_body,
    post_signed,
    slash_command_body,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


async def test_admins_set_settings_members_are_refused_and_old_buttons_refuse_in_a_switched_off_channel(
        fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        _, body, _ = await command(fake, url, "/arena-settings", "set channel enabled=off", user="U1")
        assert "Only the bot's admins (slack.admin_user_ids) can change the arena's settings." in body
        _, body, _ = await command(fake, url, "/compare", "hi", user="U2")
        ts, message = await finished_message(fake)

        _, body, _ = await command(fake, url, "/arena-settings", "set server users=<@U2|bea> rate_limit=3",
                                   user="UADMIN")
        assert "Saved for the whole server" in body
        _, body, _ = await command(fake, url, "/compare", "hi", user="U1")
        assert "you are not one of them" in body
        _, body, _ = await command(fake, url, "/arena-settings", "set channel blind=maybe", user="UADMIN")
        assert "blind must be on or off, not 'maybe'." in body

        _, body, _ = await command(fake, url, "/arena-settings", "set channel enabled=off", user="UADMIN")
        assert "Saved for this channel" in body
        payload = block_actions_payload(action_id="vote_a", value=button_value(message, "a"), message_ts=ts,
                                        message=message, response_url=fake.response_url(), user_id="U2")
        before = time.monotonic()
        assert (await post_signed(url, interactive_body(payload), SECRET))[0] == 200
        told = await fake.wait_for_call("chat.postEphemeral", lambda c: c.args["user"] == "U2" and c.at > before)
        assert told.args["text"] == "The arena is switched off in this channel."

        _, shown, _ = await command(fake, url, "/arena-settings", "show", user="U1")
        assert "• enabled: off (set for this channel)" in shown and "• users: U2 (set for the whole server)" in shown
        assert "• rate_limit: 3 per 60 s (set for the whole server)" in shown
        assert "• blind: each matchup's own (config file)" in shown


async def test_leaderboard_scope_me_counts_the_members_own_votes(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        await command(fake, url, "/compare", "hi", user="U1")
        ts, message = await finished_message(fake)
        for user, code in (("U1", "tie"), ("U2", "bad")):
            payload = block_actions_payload(action_id=f"vote_{code}", value=button_value(message, code),
                                            message_ts=ts, message=message, response_url=fake.response_url(),
                                            user_id=user)
            before = time.monotonic()
            await post_signed(url, interactive_body(payload), SECRET)
            await fake.wait_for_call("chat.postEphemeral", lambda c, u=user, b=before: c.args["user"] == u
                                     and c.at > b)
        boards = []
        for scope in ("me", "server"):
            body = form_body(slash_command_body("/leaderboard", f"scope:{scope}", user_id="U1",
                                                response_url=fake.response_url(scope)))
            assert (await post_signed(url, body, SECRET))[0] == 200
            posted = (await fake.wait_for_response_post(scope)).body
            assert posted["response_type"] == ("ephemeral" if scope == "me" else "in_channel")
            boards.append(str(posted["blocks"]))
        mine, server = boards
    assert "Your votes" in mine and "tie 1 · both bad 0" in mine
    assert "Votes in this server" in server and "tie 1 · both bad 1" in server
