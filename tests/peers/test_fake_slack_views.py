"""Self-test of the fake Slack's modals (views.open, view_submission) and thread replies, through slack-sdk."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.peers.slack import DEFAULT_CHANNEL_ID, FakeSlack
from tests.peers.slack.payloads import new_trigger_id
from tests.peers.slack.views import view_submission_payload

VIEW = {"type": "modal", "callback_id": "follow_up", "private_metadata": "{\"c\": 1}",
        "title": {"type": "plain_text", "text": "Follow up"},
        "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Message"},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}}]}


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    async with FakeSlack() as fake:
        yield fake, AsyncWebClient(token="xoxb-test", base_url=fake.api_base_url)


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call
    return str(failed.value.response["error"])


async def test_a_trigger_opens_one_modal_within_three_seconds(slack: tuple[FakeSlack, AsyncWebClient]) -> None:
    fake, client = slack
    trigger = new_trigger_id()
    opened = (await client.views_open(trigger_id=trigger, view=VIEW))["view"]
    assert opened["id"] in fake.views and opened["private_metadata"] == "{\"c\": 1}"
    assert await error_of(client.views_open(trigger_id=trigger, view=VIEW)) == "invalid_trigger_id"
    stale = f"{int((time.time() - 4) * 1000)}.1.ab"
    assert await error_of(client.views_open(trigger_id=stale, view=VIEW)) == "expired_trigger_id"
    long_title = {**VIEW, "title": {"type": "plain_text", "text": "x" * 25}}
    assert await error_of(client.views_open(trigger_id=new_trigger_id(), view=long_title)) == "invalid_arguments"
    submitted = view_submission_payload(opened, {"text": "Why?"}, user_id="U7")
    assert submitted["type"] == "view_submission" and submitted["user"]["id"] == "U7"
    assert submitted["view"]["state"]["values"] == {"b": {"text": {"type": "plain_text_input", "value": "Why?"}}}


async def test_thread_replies_go_under_a_top_level_parent(slack: tuple[FakeSlack, AsyncWebClient]) -> None:
    fake, client = slack
    parent = (await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="parent"))["ts"]
    reply = (await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="reply", thread_ts=parent))["ts"]
    stored = fake.messages[(DEFAULT_CHANNEL_ID, parent)]
    assert (stored["thread_ts"], stored["reply_count"], stored["latest_reply"]) == (parent, 1, reply)
    assert fake.messages[(DEFAULT_CHANNEL_ID, reply)]["thread_ts"] == parent
    assert await error_of(client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="x", thread_ts=reply)) == \
        "invalid_thread_ts"
    assert await error_of(client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="x", thread_ts="1.2")) == \
        "thread_not_found"
