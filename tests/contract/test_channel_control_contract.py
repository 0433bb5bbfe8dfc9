"""The Repository port's channel-control methods (settings per server and channel, the shared rate limit), held
by the in-memory fake, SQLite and PostgreSQL alike (unique ids per test, so tests share a database)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels import StoredSetting
from bot.ports import Repository

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


async def test_settings_of_a_server_and_a_channel_round_trip(repo: Repository) -> None:
    server = f"guild-{uuid.uuid4().hex}"
    await repo.put_settings("discord", server, "", {"matchup": "pair", "rate_limit": "3"}, "discord:1", NOW)
    await repo.put_settings("discord", server, "c1", {"enabled": "off", "roles": "11,12"}, "discord:1", NOW)
    await repo.put_settings("discord", server, "c2", {"enabled": "on"}, "discord:2", NOW)
    await repo.put_settings("slack", server, "c1", {"blind": "off"}, "slack:T:U", NOW)  # another platform
    found = await repo.scope_settings("discord", server, "c1")
    assert sorted(found, key=lambda s: (s.channel, s.key)) == [
        StoredSetting("", "matchup", "pair"), StoredSetting("", "rate_limit", "3"),
        StoredSetting("c1", "enabled", "off"), StoredSetting("c1", "roles", "11,12")]
    # A new value replaces the old one (also when two admins set it at once); None removes the key there only.
    await asyncio.gather(*(repo.put_settings("discord", server, "c1", {"enabled": "on"}, f"discord:{n}", NOW)
                           for n in range(5)))
    await repo.put_settings("discord", server, "c1", {"enabled": "on", "roles": None}, "discord:1",
                            NOW + timedelta(minutes=1))
    assert sorted((s.channel, s.key, s.value) for s in await repo.scope_settings("discord", server, "c1")) == [
        ("", "matchup", "pair"), ("", "rate_limit", "3"), ("c1", "enabled", "on")]
    assert await repo.scope_settings("discord", f"{server}-other", "c1") == []


async def test_the_rate_slot_is_a_sliding_window_per_member(repo: Repository) -> None:
    member = f"discord:{uuid.uuid4().hex}"
    assert await repo.take_rate_slot(member, 2, 60, NOW) == 0
    assert await repo.take_rate_slot(member, 2, 60, NOW + timedelta(seconds=10)) == 0
    wait = await repo.take_rate_slot(member, 2, 60, NOW + timedelta(seconds=15))
    assert wait == pytest.approx(45)  # until the first of the two leaves the window
    assert await repo.take_rate_slot(f"{member}-other", 2, 60, NOW + timedelta(seconds=15)) == 0
    # The refused call counted nothing: at 60 s the first has left, and one slot is free again.
    assert await repo.take_rate_slot(member, 2, 60, NOW + timedelta(seconds=60)) == 0
    assert await repo.take_rate_slot(member, 2, 60, NOW + timedelta(seconds=61)) == pytest.approx(9)
    # A limit lowered below what the window holds waits for enough of them to leave.
    assert await repo.take_rate_slot(member, 1, 60, NOW + timedelta(seconds=62)) == pytest.approx(58)


async def test_members_whose_window_emptied_are_pruned(repo: Repository) -> None:
    old, recent = f"discord:{uuid.uuid4().hex}", f"discord:{uuid.uuid4().hex}"
    await repo.take_rate_slot(old, 5, 60, NOW - timedelta(minutes=5))
    await repo.take_rate_slot(recent, 5, 60, NOW - timedelta(minutes=5))
    await repo.take_rate_slot(recent, 5, 60, NOW - timedelta(seconds=30))  # its newest counts
    assert await repo.prune_rate_slots(NOW - timedelta(seconds=60)) >= 1
    # The pruned member starts afresh; the other's recent comparison still counts against a limit of 1.
    assert await repo.take_rate_slot(old, 1, 60, NOW) == 0
    assert await repo.take_rate_slot(recent, 1, 60, NOW) == pytest.approx(30)


async def test_concurrent_takes_for_one_member_grant_exactly_the_limit(repo: Repository) -> None:
    member = f"slack:T:{uuid.uuid4().hex}"
    waits = await asyncio.gather(*(repo.take_rate_slot(member, 5, 60, NOW + timedelta(milliseconds=i))
                                   for i in range(20)))
    assert sum(wait == 0 for wait in waits) == 5 and all(wait > 0 for wait in waits if wait != 0)
