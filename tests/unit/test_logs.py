"""Log lines carry the id of the comparison they are about (adapters/logs.py, bot/tracing.py), also when
several comparisons run at once and when the line comes from a model's own task."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from adapters.logs import JsonFormatter, RequestIdFilter
from bot.domain import Place
from tests.fakes import ScriptedProvider
from tests.unit.test_service import make_service


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root, bot = logging.getLogger(), logging.getLogger("bot")
    root.addHandler(handler)
    level = bot.level
    bot.setLevel(logging.INFO)
    try:
        yield out
    finally:
        bot.setLevel(level)
        root.removeHandler(handler)


async def test_every_line_about_a_comparison_carries_its_id(json_lines: io.StringIO) -> None:
    service, _ = make_service(base=ScriptedProvider([], fail=True))
    first, second = await asyncio.gather(service.compare("What do you think of Mars?", "u1", Place("test")),
                                         service.compare("Write a haiku", "u2", Place("test")))
    await service.vote(first.id, "voter", "tie")
    entries = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    ours = [e for e in entries if e["logger"].startswith("bot.")]
    # Each compare logs its failing model (from that side's own task) and its end, and no line strays.
    for comparison in (first, second):
        about = [e for e in ours if e["request_id"] == comparison.id]
        assert any(f"comparison {comparison.id}" in e["message"] and "done" in e["message"] for e in about), about
        assert any("failed" in e["message"] and e["level"] == "warning" for e in about), about
    assert {e["request_id"] for e in ours} == {first.id, second.id}
    for entry in ours:
        for mentioned in re.findall(r"comparison ([0-9a-f]{16})", entry["message"]):
            assert mentioned == entry["request_id"], entry
