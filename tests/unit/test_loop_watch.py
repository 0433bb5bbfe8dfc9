"""The loop watcher the responsiveness tests rely on (tests/support/loop.py) tells a blocked loop from a busy one."""

from __future__ import annotations

import asyncio
import time

from tests.support.loop import MAX_STALL_S, watch_loop


async def test_a_blocking_call_in_the_loop_is_caught() -> None:
    async with watch_loop() as loop:
        await asyncio.sleep(0.05)
        time.sleep(MAX_STALL_S + 0.05)  # what the tests guard against: blocking work on the loop
        await asyncio.sleep(0.05)
    assert not loop.responsive and loop.longest_stall >= MAX_STALL_S


async def test_a_block_at_the_very_end_is_caught() -> None:
    async with watch_loop() as loop:
        time.sleep(MAX_STALL_S + 0.05)
    assert not loop.responsive


async def test_work_in_a_thread_leaves_the_loop_responsive() -> None:
    def spin() -> None:
        deadline = time.perf_counter() + 0.4
        while time.perf_counter() < deadline:  # pure Python: competes for the GIL all along
            pass

    async with watch_loop() as loop:
        await asyncio.to_thread(spin)
    assert loop.responsive, loop
    assert loop.ticks >= 10
