"""Self-tests of FakeSlack: a real slack-bolt AsyncApp over HTTP and Socket Mode, talking to the fake."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientSession, WSServerHandshakeError, web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.peers.slack import (
    APP_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_USER_ID,
    FakeSlack,
    block_actions_payload,
    form_body,
    interactive_body,
    post_signed,
    slash_command_body,
)

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SIGNING_SECRET = "test-signing-secret"
PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)
# Slack gives an app 3 seconds to acknowledge; the fake is local, so demand well under that.
ACK_BUDGET_SECONDS = 1.5


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack-sdk reads proxy variables itself; 127.0.0.1 traffic must never go through a proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake_slack:
        yield fake_slack


def build_app(fake: FakeSlack, seen: list[str]) -> AsyncApp:
    """A small arena-like Bolt app; ``seen`` records which listeners ran."""
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_base_url), signing_secret=SIGNING_SECRET
    )

    @app.command("/compare")
    async def compare(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append("compare")
        await ack()
        await client.chat_postMessage(
            channel=command["channel_id"],
            text=f"Which answer is better? {command['text']}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": command["text"]}},
                {
                    "type": "actions",
                    "block_id": "votes",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "vote_a",
                            "value": "a",
                            "text": {"type": "plain_text", "text": "A"},
                        }
                    ],
                },
            ],
        )

    @app.command("/arena-help")
    async def arena_help(ack: AsyncAck, respond: AsyncRespond) -> None:
        seen.append("help")
        await ack("Usage: /compare <prompt>")
        await respond("More help is on its way")

    @app.action("vote_a")
    async def vote(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append("vote")
        await ack()
        await client.chat_postEphemeral(
            channel=body["channel"]["id"], user=body["user"]["id"], text="Vote recorded"
        )

    return app


@asynccontextmanager
async def serve_http(app: AsyncApp) -> AsyncIterator[str]:
    """Serve the Bolt app through its aiohttp adapter; yields the /slack/events URL."""
    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def socket_mode(app: AsyncApp) -> AsyncIterator[AsyncSocketModeHandler]:
    """Connect the Bolt app over Socket Mode; the handler reaches the fake through ``app.client``."""
    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt leaves it unannotated
    try:
        yield handler
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@pytest.mark.asyncio
async def test_http_slash_command_acks_fast_then_posts_message(fake: FakeSlack) -> None:
    seen: list[str] = []
    async with serve_http(build_app(fake, seen)) as url:
        body = form_body(slash_command_body("/compare", "base vs tuned", response_url=fake.response_url()))
        status, _, elapsed = await post_signed(url, body, SIGNING_SECRET)
        post = await fake.wait_for_call("chat.postMessage")

    assert status == 200
    assert elapsed < ACK_BUDGET_SECONDS
    assert seen == ["compare"]
    assert post.token == BOT_TOKEN
    assert post.args["channel"] == DEFAULT_CHANNEL_ID
    assert post.args["blocks"][1]["elements"][0]["action_id"] == "vote_a"
    auth = await fake.wait_for_call("auth.test")
    assert auth.at < post.at


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("forge", "age_seconds"),
    [(True, 0), (False, 5 * 60 + 30)],
    ids=["forged-signature", "stale-timestamp"],
)
async def test_http_rejects_bad_signatures(fake: FakeSlack, forge: bool, age_seconds: int) -> None:
    seen: list[str] = []
    async with serve_http(build_app(fake, seen)) as url:
        body = form_body(slash_command_body("/compare", "x", response_url=fake.response_url()))
        status, _, _ = await post_signed(
            url, body, SIGNING_SECRET, timestamp=int(time.time()) - age_seconds, forge=forge
        )

    assert status == 401
    assert seen == []
    assert fake.calls == []


@pytest.mark.asyncio
async def test_http_button_click_posts_ephemeral(fake: FakeSlack) -> None:
    seen: list[str] = []
    async with serve_http(build_app(fake, seen)) as url:
        payload = block_actions_payload(
            action_id="vote_a",
            value="a",
            block_id="votes",
            message_ts="1700000000.000100",
            response_url=fake.response_url(),
        )
        status, _, elapsed = await post_signed(url, interactive_body(payload), SIGNING_SECRET)
        ephemeral = await fake.wait_for_call("chat.postEphemeral")

    assert (status, seen) == (200, ["vote"])
    assert elapsed < ACK_BUDGET_SECONDS
    assert ephemeral.args["user"] == DEFAULT_USER_ID
    assert ephemeral.args["channel"] == DEFAULT_CHANNEL_ID


@pytest.mark.asyncio
async def test_socket_mode_command_then_click_on_the_posted_message(fake: FakeSlack) -> None:
    seen: list[str] = []
    async with socket_mode(build_app(fake, seen)):
        command = slash_command_body("/compare", "base vs tuned", response_url=fake.response_url())
        command_ack = await fake.wait_for_ack(await fake.send_envelope("slash_commands", command))
        post = await fake.wait_for_call("chat.postMessage")

        (channel, ts), message = next(iter(fake.messages.items()))
        click = block_actions_payload(
            action_id="vote_a",
            value="a",
            block_id="votes",
            message_ts=ts,
            channel_id=channel,
            message=message,
            response_url=fake.response_url(),
        )
        click_ack = await fake.wait_for_ack(await fake.send_envelope("interactive", click))
        await fake.wait_for_call("chat.postEphemeral")

    opened = await fake.wait_for_call("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert command_ack.payload is None
    assert command_ack.elapsed < ACK_BUDGET_SECONDS
    assert click_ack.elapsed < ACK_BUDGET_SECONDS
    assert post.args["channel"] == channel == DEFAULT_CHANNEL_ID
    assert message["user"] == BOT_USER_ID
    assert seen == ["compare", "vote"]


@pytest.mark.asyncio
async def test_socket_mode_ack_payload_and_response_url(fake: FakeSlack) -> None:
    seen: list[str] = []
    async with socket_mode(build_app(fake, seen)):
        response_url = fake.response_url("help-1")
        envelope_id = await fake.send_envelope(
            "slash_commands", slash_command_body("/arena-help", response_url=response_url)
        )
        ack = await fake.wait_for_ack(envelope_id)
        posted = await fake.wait_for_response_post("help-1")

    assert ack.payload == {"text": "Usage: /compare <prompt>"}
    assert posted.body["text"] == "More help is on its way"
    assert seen == ["help"]


@pytest.mark.asyncio
async def test_socket_mode_hello_and_ticket_check(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=APP_TOKEN, base_url=fake.api_base_url)
    url = (await client.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
        with pytest.raises(WSServerHandshakeError) as refused:
            await session.ws_connect(url.replace("ticket=", "ticket=forged"))

    assert url.startswith(fake.base_url.replace("http://", "ws://"))
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": APP_ID}
    assert refused.value.status == 401


@pytest.mark.asyncio
async def test_files_upload_v2_stores_content(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_base_url)
    response = await client.files_upload_v2(
        channel=DEFAULT_CHANNEL_ID, content="prompt,winner\nhi,tuned\n", filename="votes.csv", title="Votes"
    )

    stored = fake.files[response["file"]["id"]]
    assert stored.content == b"prompt,winner\nhi,tuned\n"
    assert (stored.filename, stored.title, stored.channel_id, stored.completed) == (
        "votes.csv",
        "Votes",
        DEFAULT_CHANNEL_ID,
        True,
    )
    assert [call.method for call in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


async def api_error(call: Awaitable[object]) -> str:
    """The Slack error code a Web API call fails with."""
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


@pytest.mark.asyncio
async def test_web_api_errors(fake: FakeSlack) -> None:
    def client(token: str | None) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=fake.api_base_url)

    bot = client(BOT_TOKEN)
    assert await api_error(bot.api_call("no.such.method")) == "unknown_method"
    assert await api_error(client(None).auth_test()) == "not_authed"
    assert await api_error(client("nope").auth_test()) == "invalid_auth"
    assert await api_error(client(APP_TOKEN).auth_test()) == "not_allowed_token_type"
    assert (
        await api_error(client(BOT_TOKEN).apps_connections_open(app_token=BOT_TOKEN))
        == "not_allowed_token_type"
    )
    assert await api_error(bot.chat_postMessage(channel="", text="hi")) == "channel_not_found"
    assert await api_error(bot.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    assert (
        await api_error(bot.chat_update(channel=DEFAULT_CHANNEL_ID, ts="1.000001", text="x"))
        == "message_not_found"
    )
    assert all(not call.ok for call in fake.calls)


@pytest.mark.asyncio
async def test_rate_limit_then_update(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_base_url)
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="first")
    posted = await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="second")
    updated = await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert updated["message"]["text"] == fake.messages[(DEFAULT_CHANNEL_ID, posted["ts"])]["text"] == "edited"
    assert [call.ok for call in fake.calls] == [False, True, True]
