"""Follow-ups and regenerate through the real slack-bolt app (HTTP, signed requests) and the local Slack peer: the
*Follow up* button opens a modal with ``views.open``, its ``view_submission`` posts the next turn in the comparison's
thread, each turn is voted on, *Regenerate* posts a new comparison, and the export holds every turn."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from tests.e2e.test_slack import (  # noqa: F401 (fixture)
    ACK_BUDGET_S,
    SECRET,
    click,
    command,
    db_rows,
    fake,
    finished_message,
    http_app,
    open_arena,
    settings_for,
)
from tests.peers.slack import DEFAULT_CHANNEL_ID, FakeSlack, block_actions_payload, interactive_body, post_signed
from tests.peers.slack.views import view_submission_payload


def action_value(message: dict[str, Any], action_id: str) -> str:
    [value] = [e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == action_id]
    return str(value)


async def press(fake: FakeSlack, url: str, ts: str, message: dict[str, Any], action_id: str,  # noqa: F811
                user: str) -> float:
    """Click *Follow up* or *Regenerate* under the message ``ts``; returns when the click was sent."""
    payload = block_actions_payload(action_id=action_id, value=action_value(message, action_id), message_ts=ts,
                                    message=message, response_url=fake.response_url(), user_id=user)
    sent = time.monotonic()
    status, _, elapsed = await post_signed(url, interactive_body(payload), SECRET)
    assert status == 200 and elapsed < ACK_BUDGET_S
    return sent


async def posted_since(fake: FakeSlack, known: set[tuple[str, str]], sent: float) -> tuple[str, dict[str, Any]]:  # noqa: F811
    """The one message posted since ``known`` was taken, once its buttons are in."""
    await fake.wait_for_call("chat.postMessage", lambda c: c.at > sent and c.ok, timeout=10)
    [(_, ts)] = set(fake.messages) - known
    await fake.wait_for_call("chat.update", lambda c: c.args["ts"] == ts and "actions:" in str(c.args.get("blocks")),
                             timeout=10)
    return ts, fake.messages[(DEFAULT_CHANNEL_ID, ts)]


async def follow_up(fake: FakeSlack, url: str, ts: str, message: dict[str, Any], text: str,  # noqa: F811
                    user: str) -> tuple[str, dict[str, Any]]:
    known = set(fake.messages)
    sent = await press(fake, url, ts, message, "follow_up", user)
    opened = await fake.wait_for_call("views.open", lambda c: c.at > sent and c.ok, timeout=5)
    view = fake.views[next(reversed(fake.views))]
    assert opened.args["view"]["callback_id"] == view["callback_id"] == "follow_up"
    status, _, elapsed = await post_signed(url, interactive_body(view_submission_payload(view, {"text": text},
                                                                                         user_id=user)), SECRET)
    assert status == 200 and elapsed < ACK_BUDGET_S  # the ack closes the modal
    return await posted_since(fake, known, sent)


async def test_a_two_turn_conversation_in_a_thread_voted_turn_by_turn_then_regenerated(
        fake: FakeSlack, tmp_path: Path) -> None:  # noqa: F811
    settings = settings_for(fake, tmp_path)
    async with http_app(settings) as url:
        await command(fake, url, "/compare", "Name a dog breed", user="U7")
        ts, first = await finished_message(fake)
        await click(fake, url, ts, first, "a", "U7")

        second_ts, second = await follow_up(fake, url, ts, fake.messages[(DEFAULT_CHANNEL_ID, ts)], "Why that one?",
                                            "U7")
        assert second["thread_ts"] == ts and fake.messages[(DEFAULT_CHANNEL_ID, ts)]["reply_count"] == 1
        assert "Turn 2." in str(second["blocks"])
        assert "Assistant: Here is a clear answer to: Name a dog breed" in str(second["blocks"])
        reveal = await click(fake, url, second_ts, second, "b", "U7")  # each turn is voted on by itself
        assert "Votes on this comparison: A 0 · B 1" in reveal.args["text"] and reveal.args["thread_ts"] == ts

        _, third = await follow_up(fake, url, second_ts, second, "Thanks!", "U7")
        assert third["thread_ts"] == ts and "Turn 3." in str(third["blocks"])  # the same thread, by its parent

        known = set(fake.messages)
        sent = await press(fake, url, ts, fake.messages[(DEFAULT_CHANNEL_ID, ts)], "regenerate", "U8")
        _, again = await posted_since(fake, known, sent)
        assert "thread_ts" not in again and "Regenerated." in str(again["blocks"])  # beside the original
    service = await open_arena(settings)
    out = io.StringIO()
    assert await service.export("jsonl", out) == 2
    await service.aclose()
    battles = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(b["turn"], len(b["conversation_b"])) for b in battles] == [(1, 2), (2, 4)]
    rows = db_rows(tmp_path, "SELECT turn, regenerated_from IS NOT NULL, requester FROM comparisons "
                             "ORDER BY created_at")
    assert rows == [(1, 0, "slack:T0FAKETEAM:U7"), (2, 0, "slack:T0FAKETEAM:U7"), (3, 0, "slack:T0FAKETEAM:U7"),
                    (1, 1, "slack:T0FAKETEAM:U8")]
