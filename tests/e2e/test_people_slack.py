"""Votes and people on Slack, the real slack-bolt app over signed HTTP against the local peer: the *Why?*
button's modal (``views.open``, then ``view_submission``), a reason stored, changed and exported; and
/arena-forget-me with its confirmation."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_slack import (
    ACK_BUDGET_S,
    SECRET,
    click,
    command,
    db_rows,
    finished_message,
    http_app,
    settings_for,
)
from tests.peers.slack import DEFAULT_CHANNEL_ID, FakeSlack, block_actions_payload, interactive_body, post_signed
from tests.peers.slack.views import ViewError, view_submission_payload


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


REASON = 'A listed the steps; B said "sit" & <stopped>'


async def press(fake: FakeSlack, url: str, action_id: str, value: str, user: str) -> float:
    payload = block_actions_payload(action_id=action_id, value=value, message_ts="1.000001",
                                    response_url=fake.response_url(), user_id=user)
    before = time.monotonic()
    status, _, elapsed = await post_signed(url, interactive_body(payload), SECRET)
    assert status == 200 and elapsed < ACK_BUDGET_S
    return before


async def told(fake: FakeSlack, user: str, after: float, contains: str) -> str:
    call = await fake.wait_for_call(
        "chat.postEphemeral", lambda c: c.args["user"] == user and c.at > after and contains in c.args["text"])
    return str(call.args["text"])


async def give_reason(fake: FakeSlack, url: str, reveal: Any, user: str, reason: str,
                      expect: str = "reason") -> str:
    """Click *Why?* under the reveal, fill in the modal Slack opened, submit; returns the private answer."""
    [value] = [e["value"] for b in reveal.args["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == "why"]
    before = await press(fake, url, "why", value, user)
    opened = await fake.wait_for_call("views.open", lambda c: c.at > before and c.ok)
    view = fake.views[next(reversed(fake.views))]
    assert opened.args["view"]["callback_id"] == view["callback_id"] and view["title"]["text"] == "Why this choice?"
    body = interactive_body(view_submission_payload(view, {"reason": reason}, user_id=user))
    status, answer, elapsed = await post_signed(url, body, SECRET)
    assert status == 200 and answer == "" and elapsed < ACK_BUDGET_S  # an empty ack closes the modal
    return await told(fake, user, before, expect)


async def test_why_modal_stores_changes_and_exports_the_reason(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        await command(fake, url, "/compare", "Tell me how to train my dog to sit")
        ts, message = await finished_message(fake)
        reveal = await click(fake, url, ts, message, "a", "U7")
        assert "Your reason is recorded: “first”" in await give_reason(fake, url, reveal, "U7", "first")
        assert "Send another to replace it" in await give_reason(fake, url, reveal, "U7", REASON)
        assert db_rows(tmp_path, "SELECT voter, feedback FROM votes") == [("slack:T0FAKETEAM:U7", REASON)]
        with pytest.raises(ViewError):  # Slack's form refuses an empty required input
            view_submission_payload(fake.views[next(reversed(fake.views))], {"reason": ""})
        assert "Vote on this comparison first" in await give_reason(fake, url, reveal, "U8", "never voted", "first")

        await command(fake, url, "/export", "jsonl", user="UADMIN")
        await fake.wait_for_call("files.completeUploadExternal")
    [uploaded] = fake.files.values()
    [row] = [json.loads(line) for line in (uploaded.content or b"").decode().splitlines()]
    assert row["feedback"] == REASON and row["winner"] == "model_a"


async def test_forget_me_confirms_then_deletes_and_the_export_holds_nothing_of_theirs(
        fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        await command(fake, url, "/compare", "What do you think of Mars?", user="U5")
        ts, message = await finished_message(fake)
        reveal = await click(fake, url, ts, message, "b", "U5")
        await give_reason(fake, url, reveal, "U5", "B is kinder")
        await click(fake, url, ts, message, "a", "U6")  # U6's vote on U5's comparison goes with it
        await command(fake, url, "/compare", "taylor swift's best friend", user="U6")
        done = await fake.wait_for_call("chat.update", lambda c: c.ok and c.args["ts"] != ts and any(
            b["type"] == "actions" for b in c.args.get("blocks", [])), timeout=10)
        ts2, message2 = done.args["ts"], fake.messages[(DEFAULT_CHANNEL_ID, done.args["ts"])]
        await click(fake, url, ts2, message2, "tie", "U5")
        await click(fake, url, ts2, message2, "b", "U6")

        status, body, _ = await command(fake, url, "/arena-forget-me", "", user="U5")
        asked = json.loads(body)
        assert status == 200 and "cannot be undone" in asked["text"]
        [button] = [e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert db_rows(tmp_path, "SELECT count(*) FROM votes") == [(4,)]  # nothing deleted before the confirmation
        before = await press(fake, url, button["action_id"], button["value"], "U5")
        answer = await told(fake, "U5", before, "Deleted")
        assert "Deleted: 2 votes (1 with a reason), 1 comparison you asked for and 1 vote others gave" in answer

        await command(fake, url, "/export", "csv", user="UADMIN")
        await fake.wait_for_call("files.completeUploadExternal")
    [uploaded] = fake.files.values()
    rows = list(csv.DictReader(io.StringIO((uploaded.content or b"").decode(), newline="")))
    assert [r["winner"] for r in rows] == ["model_b"] and "B is kinder" not in str(rows)
    assert db_rows(tmp_path, "SELECT voter FROM votes") == [("slack:T0FAKETEAM:U6",)]
