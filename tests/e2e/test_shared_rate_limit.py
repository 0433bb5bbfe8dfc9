"""Two ``ftarena serve`` processes on one SQLite file share one rate limit, and a setting an admin changes through
one is applied by the other within seconds. (On PostgreSQL the same row lock is held to the limit by concurrent
connections in tests/contract/test_channel_control_contract.py; processes add nothing the database sees.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.channels import NOT_LISTED, SETTINGS_TTL_S
from tests.e2e.processes import Served, free_port, wait_for_port, write_config
from tests.peers.slack import FakeSlack, form_body, post_signed, slash_command_body

SECRET = "shared-secret"
LIMIT = 2


async def slash(fake: FakeSlack, url: str, name: str, text: str, user: str) -> str:
    body = form_body(slash_command_body(name, text, response_url=fake.response_url(), user_id=user))
    status, answer, _ = await post_signed(url, body, SECRET)
    assert status == 200
    return answer


async def test_two_processes_allow_the_limit_once_and_see_each_others_settings(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'arena.db'}")
    async with FakeSlack() as fake:
        ports = [free_port(), free_port()]
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "FTARENA_ARENA__RATE_LIMIT": str(LIMIT),
               "FTARENA_SLACK__API_BASE_URL": fake.api_base_url, "FTARENA_SLACK__ADMIN_USER_IDS": "UADMIN"}
        bots = [Served(config, ["slack", "--http", "--port", str(port)], env, tmp_path / f"bot{i}.log")
                for i, port in enumerate(ports)]
        try:
            for bot, port in zip(bots, ports, strict=True):
                await asyncio.to_thread(bot.wait_ready)
                await asyncio.to_thread(wait_for_port, port)
            urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
            member = "U1"
            answers = await asyncio.gather(*(slash(fake, urls[n % 2], "/compare", f"question {n}", member)
                                             for n in range(3 * LIMIT)))
            accepted = [a for a in answers if a == ""]  # an acknowledgement with nothing to say: comparing
            assert len(accepted) == LIMIT, answers  # in all, not LIMIT per process
            assert all("You are comparing too often: try again in" in a for a in answers if a), answers

            changed = await slash(fake, urls[0], "/arena-settings", "set server users=UADMIN", "UADMIN")
            assert "Saved for the whole server" in changed
            started = time.monotonic()
            while NOT_LISTED not in await slash(fake, urls[1], "/arena-models", "", member):
                assert time.monotonic() - started < SETTINGS_TTL_S + 2, "the other process never saw the change"
                await asyncio.sleep(0.25)
        finally:
            for bot in bots:
                bot.stop()
