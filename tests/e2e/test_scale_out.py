"""Whole ``ftarena serve`` processes: two Slack bots on one PostgreSQL under 10,000 racing clicks,
a Discord bot killed mid-comparison and restarted, health endpoints and request ids in JSON logs."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.processes import Served, free_port, wait_for_port, write_config
from tests.peers.discord import FakeDiscord, slash_option
from tests.peers.slack import (
    DEFAULT_CHANNEL_ID,
    FakeSlack,
    block_actions_payload,
    form_body,
    interactive_body,
    post_signed,
    sign_request,
    slash_command_body,
)

SECRET = "scale-secret"
CLICKS = 10_000
MEMBERS = 200
IN_FLIGHT = 48


def votes_in(database_url: str, comparison_ids: list[str]) -> dict[tuple[str, str], tuple[str, int]]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT comparison_id, voter, choice, changes FROM votes "
                                 "WHERE comparison_id = ANY(:ids)"), {"ids": comparison_ids}).all()
    engine.dispose()
    return {(cid, voter): (choice, changes) for cid, voter, choice, changes in rows}


@pytest.mark.slow
async def test_two_slack_bots_on_one_postgresql_keep_each_members_last_click(
        postgres_url: str, tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        config = write_config(tmp_path, postgres_url)
        ports = [free_port(), free_port()]
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "FTARENA_SLACK__API_BASE_URL": fake.api_base_url}
        bots = [Served(config, ["slack", "--http", "--port", str(port)], env, tmp_path / f"bot{i}.log")
                for i, port in enumerate(ports)]
        try:
            for bot, port in zip(bots, ports, strict=True):
                await asyncio.to_thread(bot.wait_ready)
                await asyncio.to_thread(wait_for_port, port)
            urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
            messages = []
            for i in range(5):
                body = form_body(slash_command_body("/compare", f"question {i}", response_url=fake.response_url()))
                status, _, _ = await post_signed(urls[i % 2], body, SECRET)
                assert status == 200
            for _ in range(60):
                messages = [(ts, m) for (ch, ts), m in fake.messages.items() if ch == DEFAULT_CHANNEL_ID
                            and any(b["type"] == "actions" for b in m.get("blocks", []))]
                if len(messages) == 5:
                    break
                await asyncio.sleep(0.25)
            assert len(messages) == 5
            buttons = {ts: {e["action_id"]: e["value"] for b in m["blocks"] if b["type"] == "actions"
                            for e in b["elements"] if e["action_id"].startswith("vote_")} for ts, m in messages}
            rng = random.Random(42)
            base_ts = time.time()
            clicks = []
            for n in range(CLICKS):
                ts = rng.choice(list(buttons))
                action = rng.choice(list(buttons[ts]))
                clicks.append({"member": f"U{rng.randrange(MEMBERS):04d}", "ts": ts, "action": action,
                               "value": buttons[ts][action], "at": base_ts + n * 1e-5})
            sent = list(clicks)
            rng.shuffle(sent)  # processed in any order, by either bot: the latest click must still win
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            for click in sent:
                queue.put_nowait(click)
            statuses: list[int] = []

            async def clicker(session: aiohttp.ClientSession, worker: int) -> None:
                while not queue.empty():
                    click = queue.get_nowait()
                    payload = block_actions_payload(action_id=click["action"], value=click["value"],
                                                    message_ts=click["ts"], response_url=fake.response_url(),
                                                    user_id=click["member"])
                    payload["actions"][0]["action_ts"] = f"{click['at']:.6f}"
                    body = interactive_body(payload)
                    headers = {**sign_request(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
                    async with session.post(urls[worker % 2], data=body, headers=headers) as response:
                        statuses.append(response.status)

            async with aiohttp.ClientSession(trust_env=False) as session:
                await asyncio.gather(*(clicker(session, w) for w in range(IN_FLIGHT)))
            assert statuses.count(200) == CLICKS
            deadline = time.monotonic() + 240
            while sum(c.method == "chat.postEphemeral" for c in fake.calls) < CLICKS:
                assert time.monotonic() < deadline, "not every click was answered"
                await asyncio.sleep(0.5)
        finally:
            for bot in bots:
                bot.stop()
    comparison_of = {ts: value.split(":")[1] for ts, actions in buttons.items() for value in actions.values()}
    last: dict[tuple[str, str], str] = {}
    for click in clicks:  # in click order: the later click overwrites
        last[(comparison_of[click["ts"]], f"slack:T0FAKETEAM:{click['member']}")] = click["value"].rsplit(":", 1)[1]
    stored = votes_in(postgres_url, list(set(comparison_of.values())))
    assert len(stored) == len(last)  # exactly one vote per member per comparison
    code = {"a": "a", "b": "b", "tie": "tie", "bad": "both_bad"}
    assert {key: choice for key, (choice, _) in stored.items()} == {k: code[v] for k, v in last.items()}
    assert all(f.read_text().count('"level": "error"') == 0 for f in tmp_path.glob("bot*.log"))


@pytest.mark.slow
async def test_two_discord_shards_on_one_postgresql_each_serve_their_own_guild(
        postgres_url: str, tmp_path: Path) -> None:
    """``serve discord`` as shard 0 and shard 1 of 2, two processes on one PostgreSQL: Discord sends each
    guild's interactions to its shard only, and each process compares, records votes and reveals there."""
    config = write_config(tmp_path, postgres_url)
    async with FakeDiscord(token="tok", heartbeat_interval_ms=500) as fake:
        guilds = [fake.guild_id, str(int(fake.guild_id) - (1 << 22))]
        owner = {guild: fake.shard_of(guild, 2) for guild in guilds}
        assert sorted(owner.values()) == [0, 1]
        env = {"DISCORD_TOKEN": "tok", "FTARENA_DISCORD__API_BASE_URL": fake.api_base_url,
               "FTARENA_DISCORD__GATEWAY_URL": fake.gateway_url, "FTARENA_DISCORD__SHARD_COUNT": "2"}
        bots = [Served(config, ["discord"], {**env, "FTARENA_DISCORD__SHARD_ID": str(shard)},
                       tmp_path / f"shard{shard}.log") for shard in (0, 1)]
        compared: dict[str, str] = {}  # guild -> the prompt asked there
        try:
            for bot in bots:
                await asyncio.to_thread(bot.wait_ready)
            await fake.wait_until_connected(20, shards=2)
            for guild in guilds:
                compared[guild] = f"What do you think of Mars, guild {guild}?"
                done = await fake.dispatch_slash_command("compare", [slash_option("prompt", compared[guild])],
                                                         guild_id=guild)
                await fake.wait_for(lambda r, token=done.token: r.method == "PATCH" and token in r.path
                                    and bool((r.json or {}).get("components")), timeout=20)
                message = fake.messages[done.original_id or ""]
                [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                               if b["custom_id"].endswith(":vote:b")]
                click = await fake.dispatch_component(custom_id, message=message, guild_id=guild)
                path = f"/webhooks/{fake.application_id}/{click.token}"
                reveal = await fake.wait_for(lambda r, path=path: r.method == "POST" and r.path == path, timeout=20)
                assert "Your vote recorded" in reveal.json["content"]
        finally:
            for bot in bots:
                bot.stop()
        assert sorted(identify["shard"] for identify in fake.identifies) == [[0, 2], [1, 2]]
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT c.id, c.server, c.prompt, v.choice FROM comparisons c JOIN votes v "
                                 "ON v.comparison_id = c.id WHERE c.prompt = ANY(:prompts)"),
                            {"prompts": list(compared.values())}).all()
    engine.dispose()
    assert sorted((server, prompt, choice) for _, server, prompt, choice in rows) == sorted(
        (guild, prompt, "b") for guild, prompt in compared.items())
    for cid, server, _, _ in rows:  # the guild's own shard ran its comparison, the other never saw it
        logs = {shard: (tmp_path / f"shard{shard}.log").read_text() for shard in (0, 1)}
        assert cid in logs[owner[server]] and cid not in logs[1 - owner[server]]


async def test_discord_bot_killed_mid_comparison_then_restarted(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'arena.db'}"
    config = write_config(tmp_path, database)
    async with FakeDiscord(token="tok", heartbeat_interval_ms=500) as fake:
        env = {"DISCORD_TOKEN": "tok", "FTARENA_DISCORD__API_BASE_URL": fake.api_base_url,
               "FTARENA_DISCORD__GATEWAY_URL": fake.gateway_url}
        bot = Served(config, ["discord"], env, tmp_path / "first.log")
        try:
            await asyncio.to_thread(bot.wait_ready)
            await fake.wait_until_connected(20)
            done = await fake.dispatch_slash_command("compare", [slash_option("prompt", "What do you think of Mars?")])
            finished = await fake.wait_for(lambda r: r.method == "PATCH" and done.token in r.path
                                           and bool((r.json or {}).get("components")), timeout=20)
            assert finished.status == 200
            slow = await fake.dispatch_slash_command("compare", [slash_option("prompt", "Count slowly"),
                                                                 slash_option("matchup", "slow")])
            await fake.wait_for(lambda r: r.method == "PATCH" and slow.token in r.path, timeout=20)
            bot.kill()  # mid-comparison: the slow model is still streaming
        finally:
            bot.stop()
        engine = create_engine(database)
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT prompt, status FROM comparisons")).all())
        assert statuses == {"What do you think of Mars?": "done", "Count slowly": "running"}
        await asyncio.sleep(2.6)  # past the slow model's timeout (2 s) plus the grace (0.5 s)
        restarted = Served(config, ["discord"], env, tmp_path / "second.log")
        try:
            await asyncio.to_thread(restarted.wait_ready)
            await fake.wait_until_connected(20)
            message = fake.messages[done.original_id or ""]
            [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                           if b["custom_id"].endswith(":vote:a")]
            click = await fake.dispatch_component(custom_id, message=message)
            path = f"/webhooks/{fake.application_id}/{click.token}"
            reveal = await fake.wait_for(lambda r: r.method == "POST" and r.path == path, timeout=20)
            assert "Your vote recorded" in reveal.json["content"]
        finally:
            restarted.stop()
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT prompt, status FROM comparisons")).all())
            votes = conn.execute(text("SELECT choice FROM votes")).scalars().all()
        engine.dispose()
    assert statuses["Count slowly"] == "failed" and votes == ["a"]
    logs = [json.loads(line) for line in (tmp_path / "first.log").read_text().splitlines() if line.startswith("{")]
    mentions = [(entry, found) for entry in logs
                for found in re.findall(r"comparison ([0-9a-f]{16})", entry["message"])]
    assert mentions, "the process logged nothing about its comparisons"
    for entry, mentioned in mentions:
        assert entry["request_id"] == mentioned, entry  # the line carries the id of the comparison it is about


async def test_discord_and_slack_in_one_process_with_health_and_readiness(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'arena.db'}")
    async with FakeSlack() as fake, FakeDiscord(token="tok") as discord_peer:
        port = free_port()
        bot = Served(config, ["discord", "slack", "--http", "--port", str(port)],
                     {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": SECRET, "DISCORD_TOKEN": "tok",
                      "FTARENA_DISCORD__API_BASE_URL": discord_peer.api_base_url,
                      "FTARENA_DISCORD__GATEWAY_URL": discord_peer.gateway_url,
                      "FTARENA_SLACK__API_BASE_URL": fake.api_base_url}, tmp_path / "bot.log")
        try:
            await asyncio.to_thread(bot.wait_ready)
            await asyncio.to_thread(wait_for_port, port)
            await discord_peer.wait_until_connected(20)
            compared = await discord_peer.dispatch_slash_command("compare", [slash_option("prompt", "via Discord")])
            assert (await discord_peer.wait_for_callback(compared, timeout=20)).json["type"] == 5
            body = form_body(slash_command_body("/compare", "via Slack", response_url=fake.response_url()))
            assert (await post_signed(f"http://127.0.0.1:{port}/slack/events", body, SECRET))[0] == 200
            await fake.wait_for_call("chat.update", lambda c: "actions" in str(c.args.get("blocks")), timeout=20)
            async with aiohttp.ClientSession(trust_env=False) as session:
                async with session.get(f"http://127.0.0.1:{bot.health_port}/healthz") as r:
                    assert r.status == 200 and (await r.json()) == {"status": "ok"}
                async with session.get(f"http://127.0.0.1:{bot.health_port}/readyz") as r:
                    assert r.status == 200 and (await r.json())["database"] == "ok"
        finally:
            bot.stop()
    missing = Served(config, ["slack"], {"SLACK_BOT_TOKEN": ""}, tmp_path / "missing.log")
    assert missing.process.wait(30) == 2
    missing.stop()
    output = (tmp_path / "missing.log").read_text()
    assert "SLACK_BOT_TOKEN is not set" in output and "Traceback" not in output
