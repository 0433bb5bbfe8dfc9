"""A conversation in ``ftarena chat`` on a real pseudo-terminal: two turns with a vote on each, a regeneration,
and the export holding both turns with every message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_terminal import PROMPT, rows, terminal_chat

# The chat model gets the message list and says which turn it was sent ({turn}); the completion model gets a
# plain transcript, which it echoes whole ({prompt}).
CONFIG = """
[arena]
default_matchup = "pair"
[models.base-echo]
provider = "echo"
model = "base"
reply = "base turn {turn} on {prompt}"
[models.chat-echo]
provider = "echo"
model = "chat"
template = "chat"
reply = "chat turn {turn} on {prompt}"
[matchups.pair]
base = "base-echo"
finetuned = "chat-echo"
"""


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[Any]:
    with terminal_chat(tmp_path, CONFIG, columns=100) as child:
        yield child


def say(chat: Any, line: str, *expected: str) -> None:
    chat.send(line + "\r")
    for text in expected:
        chat.expect_exact(text)
    chat.expect_exact(PROMPT)


def test_two_turns_voted_on_one_regenerated_and_exported(chat: Any, tmp_path: Path) -> None:
    say(chat, "/follow too early", "Nothing to follow up yet")
    say(chat, "Name a dog breed", "chat turn 1 on Name a dog breed", "/follow TEXT")
    say(chat, "a", "Votes on this comparison: A 1")
    say(chat, "/follow Why that one?", "Turn 2", "chat turn 2 on Why that one?")
    say(chat, "b", "Votes on this comparison: A 0 · B 1")  # the new turn is votable on its own
    say(chat, "/follow", "Usage:")  # nothing to send: nothing runs
    say(chat, "/regenerate", "Turn 2, regenerated", "chat turn 2 on Why that one?")
    export = tmp_path / "votes.jsonl"
    say(chat, f"/export jsonl {export}", "Wrote")

    first, second, again = rows(tmp_path, "SELECT id, conversation_id, turn, regenerated_from FROM comparisons "
                                          "ORDER BY created_at")
    assert first[1:] == (None, 1, None)
    assert second[1:] == (first[0], 2, None)
    assert again[1:] == (first[0], 2, second[0])
    battles = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert [(b["question_id"], b["turn"]) for b in battles] == [(first[0], 1), (second[0], 2)]
    later = battles[1]
    for side in ("a", "b"):
        messages = later[f"conversation_{side}"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[0]["content"] == "Name a dog breed" and messages[2]["content"] == "Why that one?"
        # Each side's history is its own model's earlier answer.
        own = "chat" if later[f"model_{side}"] == "chat-echo" else "base"
        assert messages[1]["content"].startswith(own)
    base = "a" if later["model_a"] == "base-echo" else "b"
    assert later[f"conversation_{base}"][3]["content"] == (
        "base turn 1 on User: Name a dog breed\n\nAssistant: base turn 1 on Name a dog breed\n\n"
        "User: Why that one?\n\nAssistant:")
