"""The event loop every entry point runs on: uvloop (libuv) where it is installed, which wakes tasks,
timers and sockets at a fraction of asyncio's own cost; ``FTARENA_EVENT_LOOP=asyncio`` picks the standard
loop instead (as uvicorn's ``--loop asyncio``)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")
ENV = "FTARENA_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


def loop_factory(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    """How to make the loop ``choice`` (default: ``$FTARENA_EVENT_LOOP``, else ``auto``) names."""
    choice = (choice or os.environ.get(ENV) or "auto").strip().lower()
    if choice not in CHOICES:
        raise ConfigError(ENV, f"must be one of {', '.join(CHOICES)}")
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise ConfigError(ENV, "is uvloop, which is not installed (pip install uvloop)") from None
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def freeze_heap() -> None:
    """Set aside what is alive now (modules, classes, settings, loaded models) from the garbage collector's
    later full collections, which otherwise scan it all again each time: with 1,000 compares in flight
    one such collection held the loop for about 80 ms. Garbage left by start-up goes first."""
    gc.collect()
    gc.freeze()


def run(main: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop, after ``freeze_heap``."""
    try:
        factory = loop_factory(choice)
    except ConfigError:
        main.close()  # never started: no "never awaited" warning on top of the error
        raise
    freeze_heap()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
