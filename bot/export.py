"""Stream votes out as arena battles (lmsys ``chatbot_arena_conversations`` columns plus ours).

Rows are written one at a time, so memory stays flat however many votes there are."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from bot.domain import Choice
from bot.errors import ArenaError
from bot.ports import Battle

COLUMNS = [
    "question_id", "model_a", "model_b", "winner", "judge", "conversation_a", "conversation_b",
    "turn", "anony", "language", "tstamp",
    "matchup", "base_model", "platform", "server", "channel", "vote_changes", "latency_a_ms",
    "latency_b_ms", "error_a", "error_b",
]
_WINNER = {Choice.A: "model_a", Choice.B: "model_b", Choice.TIE: "tie", Choice.BOTH_BAD: "tie (bothbad)"}
SALT = "finetune-arena"


def pseudonym(voter: str, salt: str = SALT) -> str:
    """A stable, non-reversible stand-in for a voter id (same voter -> same judge)."""
    return "judge_" + hashlib.sha256(f"{salt}:{voter}".encode()).hexdigest()[:16]


def battle_row(battle: Battle, salt: str = SALT) -> dict[str, Any]:
    c, v = battle.comparison, battle.vote
    return {
        "question_id": c.id,
        "model_a": c.model_a,
        "model_b": c.model_b,
        "winner": _WINNER[v.choice],
        "judge": pseudonym(v.voter, salt),
        "conversation_a": [{"role": "user", "content": c.prompt},
                           {"role": "assistant", "content": c.reply_a.text}],
        "conversation_b": [{"role": "user", "content": c.prompt},
                           {"role": "assistant", "content": c.reply_b.text}],
        "turn": 1,
        "anony": c.blind,
        "language": "",
        "tstamp": round(v.updated_at.timestamp(), 3),
        "matchup": c.matchup,
        "base_model": c.model_on(c.base_side),
        "platform": c.place.platform,
        "server": c.place.server,
        "channel": c.place.channel,
        "vote_changes": v.changes,
        "latency_a_ms": c.reply_a.latency_ms,
        "latency_b_ms": c.reply_b.latency_ms,
        "error_a": c.reply_a.error or "",
        "error_b": c.reply_b.error or "",
    }


def write_jsonl(battles: Iterable[Battle], out: IO[str]) -> int:
    n = 0
    for battle in battles:
        out.write(json.dumps(battle_row(battle), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(battles: Iterable[Battle], out: IO[str]) -> int:
    """CSV with the message lists as JSON text, the way the public arena CSVs carry them."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    n = 0
    for battle in battles:
        row = battle_row(battle)
        row["conversation_a"] = json.dumps(row["conversation_a"], ensure_ascii=False)
        row["conversation_b"] = json.dumps(row["conversation_b"], ensure_ascii=False)
        writer.writerow(row)
        n += 1
    return n


FORMATS: dict[str, Callable[[Iterable[Battle], IO[str]], int]] = {"csv": write_csv, "jsonl": write_jsonl}


def writer_for(fmt: str) -> Callable[[Iterator[Battle], IO[str]], int]:
    try:
        return FORMATS[fmt.lower()]
    except KeyError:
        raise ArenaError(f"Unknown export format {fmt[:20]!r}: use csv or jsonl.") from None
