"""Every front end implements the whole ``Surface``: a method the flow calls that one of them lacks would fail
only when a member reaches it there."""

from __future__ import annotations

import pytest

from adapters.console.surface import ConsoleSurface
from adapters.discord.surface import DiscordSurface
from adapters.slack.surface import SlackSurface
from adapters.surface import Surface
from adapters.web.surface import WebSurface

METHODS = sorted(name for name, value in vars(Surface).items() if callable(value) and not name.startswith("_"))


def test_the_protocol_names_the_methods_the_flow_calls() -> None:
    assert {"acknowledge", "show_comparison", "ask_follow_up", "ask_reason", "confirm", "announce"} <= set(METHODS)


@pytest.mark.parametrize("surface", [ConsoleSurface, DiscordSurface, SlackSurface, WebSurface],
                         ids=lambda cls: cls.__name__)
def test_each_front_end_implements_every_surface_method(surface: type) -> None:
    assert [name for name in METHODS if not callable(getattr(surface, name, None))] == []
