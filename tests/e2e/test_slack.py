"""The real slack-bolt app (HTTP with signed requests, and Socket Mode) against a local Slack peer."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.bootstrap import build_service, open_repository
from adapters.slack.app import EVENTS_PATH, SlackCredentials, build_app, slack_credentials
from adapters.slack.settings import SlackSettings
from bot.config import Settings
from bot.domain import Place
from bot.errors import ConfigError
from bot.service import ArenaService
from tests.e2e.arena_config import arena_settings
from tests.peers.slack import (
    DEFAULT_CHANNEL_ID,
    TEAM_ID,
    FakeSlack,
    block_actions_payload,
    form_body,
    interactive_body,
    post_signed,
    slash_command_body,
)

SECRET = "test-signing-secret"
ACK_BUDGET_S = 1.5  # Slack allows 3 s; on loopback we demand half


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def settings_for(fake: FakeSlack, tmp_path: Path, **arena: Any) -> Settings:
    settings = arena_settings(tmp_path, arena=arena)
    slack = SlackSettings(api_base_url=fake.api_base_url, admin_user_ids=("UADMIN",))
    return dataclasses.replace(settings, sections={**settings.sections, "slack": slack})


async def open_arena(settings: Settings) -> ArenaService:
    return build_service(settings, await open_repository(settings.database_url), rate_limited=True)


@asynccontextmanager
async def http_app(settings: Settings) -> AsyncIterator[str]:
    service = await open_arena(settings)
    app = build_app(service, settings, SlackCredentials("xoxb-test", signing_secret=SECRET))
    runner = web.AppRunner(app.web_app(path=EVENTS_PATH))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"
    finally:
        await runner.cleanup()
        await service.aclose()


def db_rows(tmp_path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "arena.db") as db:
        return db.execute(query).fetchall()


async def command(fake: FakeSlack, url: str, name: str, text: str, user: str = "U1") -> tuple[int, str, float]:
    body = form_body(slash_command_body(name, text, response_url=fake.response_url(), user_id=user))
    return await post_signed(url, body, SECRET)


async def finished_message(fake: FakeSlack, timeout: float = 10) -> tuple[str, dict[str, Any]]:
    """The channel message once its vote buttons (or a failure) are in."""
    def done(call: Any) -> bool:
        return (call.ok and any(b["type"] == "actions" for b in call.args.get("blocks", []))) or \
            "Both models failed" in str(call.args.get("blocks"))
    call = await fake.wait_for_call("chat.update", done, timeout)
    return call.args["ts"], fake.messages[(DEFAULT_CHANNEL_ID, call.args["ts"])]


def button_value(message: dict[str, Any], code: str) -> str:
    [value] = [e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == f"vote_{code}"]
    return str(value)


async def click(fake: FakeSlack, url: str, ts: str, message: dict[str, Any], code: str, user: str) -> Any:
    """Click a vote button as ``user``; returns the ephemeral reveal sent to them."""
    payload = block_actions_payload(action_id=f"vote_{code}", value=button_value(message, code), message_ts=ts,
                                    message=message, response_url=fake.response_url(), user_id=user)
    before = time.monotonic()
    status, _, elapsed = await post_signed(url, interactive_body(payload), SECRET)
    assert status == 200 and elapsed < ACK_BUDGET_S
    return await fake.wait_for_call("chat.postEphemeral", lambda c: c.args["user"] == user and c.at > before)


def texts(message: dict[str, Any]) -> str:
    return " ".join(str(b.get("text", {}).get("text", "")) for b in message["blocks"] if b["type"] == "section")


async def test_http_compare_streams_then_vote_changes_and_reveals(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        status, body, elapsed = await command(fake, url, "/compare", "Tell me how to train my dog to sit")
        assert status == 200 and body == "" and elapsed < ACK_BUDGET_S
        ts, message = await finished_message(fake)
        updates = [c for c in fake.calls if c.method == "chat.update"]
        assert len(updates) >= 2 and min(b.at - a.at for a, b in itertools.pairwise(updates)) >= 0.15
        assert "Here is a clear answer to: Tell me how to train my dog to sit" in texts(message)
        assert "*A*" in texts(message) and "echo" not in texts(message)  # blind

        first = await click(fake, url, ts, message, "a", "U7")
        assert "A was" in first.args["text"] and "Votes on this comparison: A 1" in first.args["text"]
        await fake.wait_for_call("chat.update", lambda c: "1 vote so far" in str(c.args.get("blocks")))
        second = await click(fake, url, ts, fake.messages[(DEFAULT_CHANNEL_ID, ts)], "bad", "U7")
        assert "changed from “A is better” to “Both bad”" in second.args["text"]
    assert db_rows(tmp_path, "SELECT voter, choice, changes FROM votes") == [("slack:T0FAKETEAM:U7", "both_bad", 1)]


@pytest.mark.parametrize(("forge", "age_s"), [(True, 0), (False, 6 * 60)], ids=["forged", "stale"])
async def test_forged_or_stale_requests_are_rejected_and_store_nothing(
        fake: FakeSlack, tmp_path: Path, forge: bool, age_s: int) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        body = form_body(slash_command_body("/compare", "hello", response_url=fake.response_url()))
        status, _, _ = await post_signed(url, body, SECRET, timestamp=int(time.time()) - age_s, forge=forge)
        assert status == 401
        click_body = interactive_body(block_actions_payload(
            action_id="vote_a", value="cmp:0123abcd:vote:a", message_ts="1.2", response_url=fake.response_url()))
        status, _, _ = await post_signed(url, click_body, SECRET, timestamp=int(time.time()) - age_s, forge=forge)
        assert status == 401
    assert fake.calls == []
    assert db_rows(tmp_path, "SELECT count(*) FROM comparisons") == [(0,)]


async def test_export_refused_then_uploaded_for_an_admin(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        await command(fake, url, "/compare", "What do you think of Mars?")
        ts, message = await finished_message(fake)
        await click(fake, url, ts, message, "b", "U2")
        status, body, _ = await command(fake, url, "/export", "csv", user="U2")
        assert status == 200 and "Only the bot's admins" in body
        status, body, _ = await command(fake, url, "/export", "csv", user="UADMIN")
        assert "direct message" in body
        done = await fake.wait_for_call("files.completeUploadExternal")
        assert done.args["channel_id"] == "DUADMIN"  # privately, to the admin who asked
    [uploaded] = fake.files.values()
    [row] = list(csv.DictReader(io.StringIO((uploaded.content or b"").decode())))
    assert row["winner"] == "model_b" and row["platform"] == "slack" and "U2" not in row["judge"]


async def test_failing_model_long_reply_and_injection(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        await command(fake, url, "/compare", "matchup:failing hi")
        _, message = await finished_message(fake)
        assert "The model is unavailable right now." in str(message["blocks"])
        assert "Here is a clear answer to: hi" in texts(message)
        assert any(b["type"] == "actions" for b in message["blocks"])  # the other reply can be voted on

        fake.calls.clear()
        await command(fake, url, "/compare", "matchup:long write a lot")
        _, message = await finished_message(fake)
        assert all(call.ok for call in fake.calls), [c.error for c in fake.calls]
        assert "more characters cut" in texts(message) and len(message["blocks"]) <= 50

        fake.calls.clear()
        await command(fake, url, "/compare", "matchup:hostile <!channel> hey <@U123> & more")
        _, message = await finished_message(fake)
        shown = texts(message) + message["text"]
        assert "<!channel>" not in shown and "<@U123>" not in shown and "&lt;!channel&gt;" in shown
        assert "&lt;@123&gt;" in shown and "&amp; more" in shown
    [(length,)] = db_rows(tmp_path, "SELECT length(text) FROM replies WHERE model = 'long'")
    assert length > 9000  # the whole reply is stored even though the message shows a cut


async def test_bad_input_and_rate_limit_answer_privately(fake: FakeSlack, tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path, rate_limit=1)) as url:
        status, body, _ = await command(fake, url, "/compare", "   ")
        assert status == 200 and "The prompt is empty" in body
        _, body, _ = await command(fake, url, "/compare", "y" * 5000)
        assert "too long" in body
        _, body, _ = await command(fake, url, "/compare", "matchup:nope hi")
        assert "No matchup named 'nope'" in body
        _, body, _ = await command(fake, url, "/compare", "first")
        assert body == ""
        _, body, _ = await command(fake, url, "/compare", "second")
        assert "try again in" in body
        await finished_message(fake)
        _, body, _ = await command(fake, url, "/arena-models", "")
        assert "pair (default)" in body
        _, body, _ = await command(fake, url, "/leaderboard", "")
        posted = await fake.wait_for_response_post()
        assert "Arena ratings" in str(posted.body["blocks"]) and posted.body["response_type"] == "in_channel"
        await fake.wait_for_call("files.completeUploadExternal")
        [chart] = [f for f in fake.files.values() if f.filename == "leaderboard.png"]
        assert (chart.content or b"").startswith(b"\x89PNG")
        forged = block_actions_payload(action_id="vote_a", value="cmp:deadbeef:vote:a", message_ts="1.1",
                                       response_url=fake.response_url(), user_id="U9")
        await post_signed(url, interactive_body(forged), SECRET)
        reply = await fake.wait_for_call("chat.postEphemeral", lambda c: c.args["user"] == "U9")
        assert "No comparison with id 'deadbeef'" in reply.args["text"]
    assert db_rows(tmp_path, "SELECT count(*) FROM comparisons") == [(1,)]
    assert db_rows(tmp_path, "SELECT count(*) FROM votes") == [(0,)]


async def test_socket_mode_compare_and_vote(fake: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    service = await open_arena(settings)
    app = build_app(service, settings, SlackCredentials("xoxb-test", app_token="xapp-test"))
    handler = AsyncSocketModeHandler(app, "xapp-test")
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        envelope = await fake.send_envelope("slash_commands", slash_command_body(
            "/compare", "What do you think of Mars?", response_url=fake.response_url()))
        ack = await fake.wait_for_ack(envelope)
        assert ack.elapsed < ACK_BUDGET_S
        ts, message = await finished_message(fake)
        click = block_actions_payload(action_id="vote_tie", value=button_value(message, "tie"), message_ts=ts,
                                      message=message, response_url=fake.response_url(), user_id="U5")
        click_ack = await fake.wait_for_ack(await fake.send_envelope("interactive", click))
        assert click_ack.elapsed < ACK_BUDGET_S
        reveal = await fake.wait_for_call("chat.postEphemeral", lambda c: c.args["user"] == "U5")
        assert "Votes on this comparison: A 0 · B 0 · tie 1" in reveal.args["text"]
        await fake.wait_for_call("chat.update", lambda c: "1 vote so far" in str(c.args.get("blocks")))
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await service.aclose()
    assert db_rows(tmp_path, "SELECT choice FROM votes") == [("tie",)]


def test_missing_secrets_are_named() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        slack_credentials(SlackSettings(), {"SLACK_BOT_TOKEN": "xoxb-1"}, http=True)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        slack_credentials(SlackSettings(), {"SLACK_BOT_TOKEN": "xoxb-1"}, http=False)
    creds = slack_credentials(SlackSettings(), {"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_APP_TOKEN": "xapp-s"},
                              http=False)
    assert "secret" not in repr(creds)


async def test_a_decided_matchup_is_announced_once_in_its_channels_and_shown_on_the_leaderboard(
        fake: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    service = await open_arena(settings)
    # 24 votes, every one for the fine-tune, in two channels: decided, and nobody told yet.
    for n in range(24):
        place = Place("slack", channel=DEFAULT_CHANNEL_ID if n % 2 else "C0OTHER", server=TEAM_ID)
        c = await service.compare(f"question {n}", "asker", place)
        await service.vote(c.id, f"slack:{TEAM_ID}:U{n}", c.finetuned_side.value)
    await service.aclose()
    async with http_app(settings) as url:
        await command(fake, url, "/compare", "one more")
        ts, message = await finished_message(fake)
        await click(fake, url, ts, message, "a", "U90")
        said = "Decided: fine-tune better (anytime-valid 95%) on matchup pair, after 25 votes"
        for channel in (DEFAULT_CHANNEL_ID, "C0OTHER"):
            await fake.wait_for_call("chat.postMessage", lambda c, ch=channel: c.args["channel"] == ch
                                     and said in c.args.get("text", ""))
        await click(fake, url, ts, fake.messages[(DEFAULT_CHANNEL_ID, ts)], "b", "U91")
        await command(fake, url, "/leaderboard", "")
        # Ratings with 100 bootstrap rounds, the verdicts and the chart: allow a loaded CI machine its time.
        posted = await fake.wait_for_response_post(timeout=30)
        shown = str(posted.body["blocks"])
        assert "length-controlled win rate" in shown and "fine-tune better (anytime-valid 95%)" in shown, shown
    told = [c for c in fake.calls if c.method == "chat.postMessage" and "Decided:" in c.args.get("text", "")]
    assert sorted(c.args["channel"] for c in told) == sorted([DEFAULT_CHANNEL_ID, "C0OTHER"])  # once each
