"""Follow-ups and regenerate through the real discord.py bot and the local Discord peer: the *Follow up* button
opens a modal (callback type 9), its submission (interaction type 5) posts the next turn in a thread started on the
comparison, each turn is voted on, a *Regenerate* click posts a new comparison, and the export holds every turn."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from tests.e2e.test_discord import click, db_rows, fake, running_bot, settings_for, slash  # noqa: F401 (fixture)
from tests.peers.discord import FakeDiscord
from tests.peers.discord.threads import MODAL


def button(message: dict[str, Any], label: str) -> str:
    [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"] if b["label"] == label]
    return str(custom_id)


async def follow_up(fake: FakeDiscord, message: dict[str, Any], text: str,  # noqa: F811
                    user: dict[str, Any]) -> dict[str, Any]:
    """Click *Follow up* under ``message``, type ``text`` in the modal, submit; the posted turn once final."""
    opened = await fake.dispatch_component(button(message, "Follow up"), message=message, user=user)
    assert (await fake.wait_for_callback(opened)).json["type"] == MODAL
    assert opened.modal is not None and opened.modal["title"] == "Follow up"
    submitted = await fake.submit_modal(opened, {"text": text}, user=user)
    assert (await fake.wait_for_callback(submitted, timeout=10)).json["type"] == 6  # nothing shown in the channel
    posted = await fake.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages") and
                                 r.path.startswith("/channels/") and text in r.json["content"], timeout=10)
    channel = posted.path.split("/")[2]
    [message_id] = [m["id"] for m in fake.messages.values() if m["channel_id"] == channel and text in m["content"]]
    await fake.wait_for(lambda r: r.method == "PATCH" and r.path == f"/channels/{channel}/messages/{message_id}"
                        and bool(r.json.get("components")), timeout=10)
    return fake.messages[message_id]


async def test_a_two_turn_conversation_in_a_thread_voted_turn_by_turn_then_regenerated(
        fake: FakeDiscord, tmp_path: Path) -> None:  # noqa: F811
    alice = fake.make_user("777", "alice")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        compared = await slash(fake, bot, "compare", prompt="Name a dog breed")
        first = fake.messages[compared.original_id or ""]
        await click(fake, compared, "a", alice)

        second = await follow_up(fake, first, "Why that one?", alice)
        [thread] = fake.threads.values()
        assert second["channel_id"] == thread["id"] == first["id"] and thread["parent_id"] == fake.channel_id
        assert first["thread"]["name"] == "Conversation: Name a dog breed"
        assert "Turn 2." in second["content"]
        # The echo models are completion models: each answers the transcript with its own earlier answer.
        tuned = next(e["description"] for e in second["embeds"] if e["description"].startswith("Here is"))
        assert "Assistant: Here is a clear answer to: Name a dog breed" in tuned and "rambles" not in tuned
        # Voting on the turn in the thread: the click's interaction is in the thread and edits that message.
        clicked = await fake.dispatch_component(button(second, "B is better"), message=second, user=alice)
        path = f"/webhooks/{fake.application_id}/{clicked.token}"
        reveal = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=10)
        assert "Votes on this comparison: A 0 · B 1" in reveal.json["content"] and clicked.channel_id == thread["id"]

        third = await follow_up(fake, second, "Thanks!", alice)  # from inside the thread: it continues there
        assert third["channel_id"] == thread["id"] and "Turn 3." in third["content"] and len(fake.threads) == 1

        regenerated = await fake.dispatch_component(button(first, "Regenerate"), message=first, user=alice)
        path = f"/webhooks/{fake.application_id}/{regenerated.token}"
        await fake.wait_for(lambda r: r.method == "PATCH" and r.path.startswith(path + "/messages/")
                            and bool(r.json.get("components")), timeout=10)
        [again] = [m for m in fake.messages.values() if "Regenerated." in m["content"]]
        assert again["channel_id"] == fake.channel_id and "Name a dog breed" in again["content"]

        out = io.StringIO()
        assert await bot.service.export("jsonl", out) == 2
    battles = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [b["turn"] for b in battles] == [1, 2]
    assert [len(b["conversation_a"]) for b in battles] == [2, 4]
    rows = db_rows(tmp_path, "SELECT turn, conversation_id IS NOT NULL, regenerated_from IS NOT NULL, requester, "
                             "channel FROM comparisons ORDER BY created_at")
    assert [r[:3] for r in rows] == [(1, 0, 0), (2, 1, 0), (3, 1, 0), (1, 0, 1)]
    assert {r[3] for r in rows[1:]} == {"discord:777"}
    # Turns in the thread belong to its channel: its settings apply there and its slice counts them.
    assert {r[4] for r in rows} == {fake.channel_id}


async def test_two_members_following_up_on_one_comparison_at_once_both_get_their_turn(
        fake: FakeDiscord, tmp_path: Path) -> None:  # noqa: F811
    alice, bob = fake.make_user("777", "alice"), fake.make_user("778", "bob")
    async with running_bot(fake, settings_for(fake, tmp_path)) as bot:
        compared = await slash(fake, bot, "compare", prompt="Name a dog breed")
        first = fake.messages[compared.original_id or ""]
        opened = {}
        for member in (alice, bob):  # both boxes open before either is sent
            opened[member["id"]] = await fake.dispatch_component(button(first, "Follow up"), message=first,
                                                                 user=member)
            assert (await fake.wait_for_callback(opened[member["id"]])).json["type"] == MODAL
        for member, text in ((alice, "Why?"), (bob, "Is it big?")):
            submitted = await fake.submit_modal(opened[member["id"]], {"text": text}, user=member)
            assert (await fake.wait_for_callback(submitted, timeout=10)).json["type"] == 6
            # The turn is finished (its buttons are in) before the other member sends theirs.
            await fake.wait_for(lambda r, t=text: r.method == "PATCH" and r.path.startswith("/channels/")
                                and t in str(r.json) and bool(r.json.get("components")), timeout=10)
    assert sorted(db_rows(tmp_path, "SELECT requester, prompt FROM comparisons WHERE turn = 2")) == [
        ("discord:777", "Why?"), ("discord:778", "Is it big?")]


async def test_a_follow_up_box_left_open_across_a_restart_still_sends(fake: FakeDiscord, tmp_path: Path) -> None:  # noqa: F811
    settings = settings_for(fake, tmp_path)
    async with running_bot(fake, settings) as bot:
        compared = await slash(fake, bot, "compare", prompt="Name a dog breed")
        first = fake.messages[compared.original_id or ""]
        opened = await fake.dispatch_component(button(first, "Follow up"), message=first)
        assert (await fake.wait_for_callback(opened)).json["type"] == MODAL
    async with running_bot(fake, settings):  # a new process: nothing of the open box in memory
        submitted = await fake.submit_modal(opened, {"text": "Why that one?"})
        assert (await fake.wait_for_callback(submitted, timeout=10)).json["type"] == 6
        await fake.wait_for(lambda r: r.method == "PATCH" and r.path.startswith("/channels/")
                            and "Why that one?" in str(r.json) and bool(r.json.get("components")), timeout=10)
    assert db_rows(tmp_path, "SELECT turn, prompt FROM comparisons ORDER BY created_at") == [
        (1, "Name a dog breed"), (2, "Why that one?")]
