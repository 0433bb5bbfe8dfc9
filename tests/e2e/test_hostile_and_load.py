"""Hostile prompts through every front end, and a burst of 200 /compare from 50 members on Discord and Slack."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_discord import running_bot
from tests.e2e.test_discord import settings_for as discord_settings
from tests.e2e.test_slack import SECRET, button_value, http_app
from tests.e2e.test_slack import settings_for as slack_settings
from tests.peers.discord import EPHEMERAL, FakeDiscord, slash_option
from tests.peers.slack import (
    FakeSlack,
    block_actions_payload,
    form_body,
    interactive_body,
    post_signed,
    slash_command_body,
)

REFUSED = {
    "x" * 50_000: "too long",
    "\x00\x01\x02\x1b": "empty",
    "\u200b\u200f\u202e\ufeff": "no visible text",
}
ACCEPTED = {
    "hi\x00 there\x1b[31m": "hi there[31m",
    "\u202eevil right-to-left text": "\u202eevil right-to-left text",
    "a\ud800b": "a?b",
    "@everyone <@123> <!channel> **bold** `x` [l](http://evil.example)":
        "@everyone <@123> <!channel> **bold** `x` [l](http://evil.example)",
    "'; DROP TABLE votes; --": "'; DROP TABLE votes; --",
}


def stored_prompts(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        conn.execute("SELECT count(*) FROM votes")  # the table survived the SQL-looking prompt
        return [row[0] for row in conn.execute("SELECT prompt FROM comparisons ORDER BY created_at")]


async def test_hostile_prompts_through_discord(tmp_path: Path) -> None:
    async with FakeDiscord(token="fake-bot-token") as fake, running_bot(fake, discord_settings(fake, tmp_path)) as bot:
        for prompt, problem in REFUSED.items():
            done = bot.wait_for("app_command_completion", timeout=20)
            interaction = await fake.dispatch_slash_command("compare", [slash_option("prompt", prompt)])
            await done
            answer = (await fake.wait_for_callback(interaction)).json
            assert answer["data"]["flags"] == EPHEMERAL and problem in answer["data"]["content"]
        for prompt in ACCEPTED:
            done = bot.wait_for("app_command_completion", timeout=20)
            interaction = await fake.dispatch_slash_command("compare", [slash_option("prompt", prompt)])
            await done
            message = fake.messages[interaction.original_id or ""]
            assert "@everyone" not in message["content"] and "**bold**" not in message["content"]
            assert all(r.status == 200 for r in fake.requests if interaction.token in r.path)
    assert stored_prompts(tmp_path / "arena.db") == list(ACCEPTED.values())


async def test_hostile_prompts_through_slack(tmp_path: Path) -> None:
    # A lone surrogate cannot travel in a form-encoded UTF-8 body, so Slack can never send one.
    accepted = {p: stored for p, stored in ACCEPTED.items() if "\ud800" not in p}
    async with FakeSlack() as fake, http_app(slack_settings(fake, tmp_path)) as url:
        for prompt, problem in REFUSED.items():
            status, body, _ = await post_signed(url, form_body(slash_command_body(
                "/compare", prompt, response_url=fake.response_url())), SECRET)
            assert status == 200 and problem in body
        for prompt in accepted:
            status, body, _ = await post_signed(url, form_body(slash_command_body(
                "/compare", prompt, response_url=fake.response_url())), SECRET)
            assert status == 200 and body == ""
        for _ in range(100):
            if len(stored_prompts(tmp_path / "arena.db")) == len(accepted) and all(c.ok for c in fake.calls):
                break
            await asyncio.sleep(0.1)
        shown = " ".join(str(m.get("blocks")) for m in fake.messages.values())
        assert "<!channel>" not in shown and "<@123>" not in shown and "&lt;!channel&gt;" in shown
        assert all(call.ok for call in fake.calls), [c.error for c in fake.calls if not c.ok]
    assert sorted(stored_prompts(tmp_path / "arena.db")) == sorted(accepted.values())


def test_hostile_prompts_through_the_terminal(tmp_path: Path) -> None:
    lines = [p.replace("\n", " ") for p in (*REFUSED, *ACCEPTED) if "\ud800" not in p]
    script = ("\n".join(lines) + "\n").encode("utf-8") + b"bad bytes \xff\xfe here\n/quit\n"
    env_db = tmp_path / "arena.db"
    config = tmp_path / "echo.toml"
    config.write_text('[arena]\ndefault_matchup = "e"\n[models.b]\nprovider = "echo"\nmodel = "b"\n'
                      '[models.t]\nprovider = "echo"\nmodel = "t"\n[matchups.e]\nbase = "b"\nfinetuned = "t"\n')
    result = subprocess.run([sys.executable, "-m", "adapters.cli", "--config", str(config), "--database",
                             f"sqlite:///{env_db}", "chat"], input=script, capture_output=True, timeout=120,
                            cwd=tmp_path, check=False)
    out = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, result.stderr.decode()
    assert "too long" in out and "The prompt is empty" in out and "no visible text" in out
    prompts = stored_prompts(env_db)
    assert "bad bytes \ufffd\ufffd here" in prompts and "'; DROP TABLE votes; --" in prompts
    assert not any("\x00" in p for p in prompts)


@pytest.mark.slow
async def test_burst_of_200_compares_from_50_members_on_discord(tmp_path: Path) -> None:
    async with FakeDiscord(token="fake-bot-token", heartbeat_interval_ms=200) as fake:
        settings = discord_settings(fake, tmp_path, rate_limit=3)
        async with running_bot(fake, settings):
            beats_before = fake.heartbeat_count
            loop = asyncio.get_running_loop()
            started = loop.time()
            users = [fake.make_user(f"{9000 + i}", f"member{i}") for i in range(50)]
            interactions = await asyncio.gather(*(
                fake.dispatch_slash_command("compare", [slash_option("prompt", f"burst {n}")], user=users[n % 50])
                for n in range(200)))
            callbacks = await asyncio.gather(*(fake.wait_for_callback(i, timeout=30) for i in interactions))
            deferred = [i for i, cb in zip(interactions, callbacks, strict=True) if cb.json["type"] == 5]
            limited = [cb for cb in callbacks if cb.json["type"] == 4]
            assert len(deferred) == 150 and len(limited) == 50  # 3 per member per minute
            assert all("try again in" in cb.json["data"]["content"] for cb in limited)
            await asyncio.gather(*(fake.wait_for(
                lambda r, t=i.token: r.method == "PATCH" and t in r.path and bool((r.json or {}).get("components")),
                timeout=60) for i in deferred))
            elapsed = loop.time() - started
            # The gateway heartbeat kept going while the bot worked (every 0.2 s: expect most of them; each edge of
            # the window may cut one).
            assert fake.heartbeat_count - beats_before >= elapsed / 0.2 * 0.5 - 1, (fake.heartbeat_count, elapsed)
            clicks = []
            for n, interaction in enumerate(deferred):
                message = fake.messages[interaction.original_id or ""]
                [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                               if b["custom_id"].endswith(":vote:b")]
                clicks.append(fake.dispatch_component(custom_id, message=message, user=users[n % 50]))
            clicked = await asyncio.gather(*clicks)
            await asyncio.gather(*(fake.wait_for(
                lambda r, t=c.token: r.method == "POST" and r.path.endswith(t), timeout=60) for c in clicked))
    with sqlite3.connect(tmp_path / "arena.db") as conn:
        assert conn.execute("SELECT count(*) FROM comparisons WHERE status = 'done'").fetchone() == (150,)
        assert conn.execute("SELECT count(*), count(DISTINCT comparison_id) FROM votes").fetchone() == (150, 150)


@pytest.mark.slow
async def test_burst_of_200_compares_from_50_members_on_slack(tmp_path: Path) -> None:
    async with FakeSlack() as fake, http_app(slack_settings(fake, tmp_path, rate_limit=3)) as url:
        answers = await asyncio.gather(*(post_signed(url, form_body(slash_command_body(
            "/compare", f"burst {n}", response_url=fake.response_url(), user_id=f"U{n % 50:03d}")), SECRET)
            for n in range(200)))
        assert all(status == 200 and elapsed < 3 for status, _, elapsed in answers)
        assert sum(body == "" for _, body, _ in answers) == 150
        assert sum("try again in" in body for _, body, _ in answers) == 50
        for _ in range(300):
            finished = {ts: m for (_, ts), m in fake.messages.items()
                        if any(b["type"] == "actions" for b in m.get("blocks", []))}
            if len(finished) == 150:
                break
            await asyncio.sleep(0.1)
        assert len(finished) == 150
        clicks = []
        for n, (ts, message) in enumerate(finished.items()):
            value = button_value(message, "a")
            payload = block_actions_payload(action_id="vote_a", value=value, message_ts=ts, message=message,
                                            response_url=fake.response_url(), user_id=f"U{n % 50:03d}")
            clicks.append(post_signed(url, interactive_body(payload), SECRET))
        assert all(status == 200 for status, _, _ in await asyncio.gather(*clicks))
        for _ in range(300):
            if sum(c.method == "chat.postEphemeral" for c in fake.calls) >= 150:
                break
            await asyncio.sleep(0.1)
        assert all(call.ok for call in fake.calls)
    with sqlite3.connect(tmp_path / "arena.db") as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT comparison_id) FROM votes").fetchone() == (150, 150)
