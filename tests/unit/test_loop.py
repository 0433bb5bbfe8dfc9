"""The event loop the entry points run on (adapters/loop.py)."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref

import pytest
import uvloop

from adapters import loop as event_loop
from bot.errors import ConfigError


async def _which() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_by_default_and_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV, raising=False)
    assert event_loop.run(_which()).startswith("uvloop")
    assert event_loop.run(_which(), "asyncio").startswith("asyncio")
    monkeypatch.setenv(event_loop.ENV, " AsyncIO ")
    assert event_loop.run(_which()).startswith("asyncio")


def test_an_unknown_loop_is_a_config_error_and_nothing_is_left_unawaited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV, "trio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "coroutine was never awaited" warning would fail here
        with pytest.raises(ConfigError, match="FTARENA_EVENT_LOOP: must be one of auto, uvloop, asyncio"):
            event_loop.run(_which())


async def test_the_tests_run_on_the_apps_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


async def _freeze_count() -> int:
    return gc.get_freeze_count()


def test_run_collects_start_up_garbage_then_sets_the_rest_aside_from_the_collector() -> None:
    gc.unfreeze()
    left = _Cycle()  # garbage that only the collector can free, as start-up leaves
    gone = weakref.ref(left)
    del left
    kept = _Cycle()
    frozen = event_loop.run(_freeze_count())
    assert gone() is None  # collected before freezing, not kept for good
    assert frozen > 0
    assert gc.is_tracked(kept)  # still alive and tracked, only out of later full collections
