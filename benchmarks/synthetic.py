"""A synthetic arena database: N votes (four per comparison) with their comparisons and replies, written straight
into the migrated SQLite schema with sqlite3 ``executemany`` and cached under ``benchmarks/.cache/``.

The data look like a busy arena: five models in five matchups (one connected graph, so every rating is identified),
20,000 voters, 60 days of votes, replies of varied length with quotes, commas and newlines, 1% of comparisons
flagged for an identity leak and 1% with a failed side, so the report's filters have something to remove.
Each comparison also gets its stored CSV rendering (``comparison_csv``) and each reply its style features, as the
app writes them when it saves one."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain import Comparison, Place, Reply, Side, Status
from bot.export import CSV_PARTS_VERSION, csv_parts, tstamp_text
from storage.comparisons import COMPARISON_COLUMNS, REPLY_COLUMNS
from storage.csv_export import CSV_PARTS_COLUMNS
from storage.database import make_engine, migrate
from storage.reply_style import STYLE_TOTALS, style_totals, style_values

CACHE_DIR = Path(__file__).with_name(".cache")
# Bump when the generated data change, so an old cached file is not reused.
VERSION = 8
VOTES_PER_COMPARISON = 4
VOTERS = 20_000
BATCH = 5_000  # comparisons per executemany round
SEED = 20261122
START = datetime(2026, 9, 23)
SPAN_S = 60 * 24 * 3600
# Hidden Bradley-Terry strengths (log10 odds) the votes are drawn from.
STRENGTH = {"llama-2-7b": 0.0, "llama-2-7b-chat": 0.35, "llama-2-7b-lora": 0.25, "gemma-3-270m": -0.4,
            "smollm2-135m-instruct": -0.2}
MATCHUPS = {  # name: (base, fine-tuned)
    "llama2-chat": ("llama-2-7b", "llama-2-7b-chat"),
    "llama2-lora": ("llama-2-7b", "llama-2-7b-lora"),
    "chat-vs-lora": ("llama-2-7b-lora", "llama-2-7b-chat"),
    "embedded": ("gemma-3-270m", "smollm2-135m-instruct"),
    "small-vs-7b": ("llama-2-7b", "smollm2-135m-instruct"),
}
TIE_SHARE, BOTH_BAD_SHARE = 0.15, 0.05
PROMPTS = ("Tell me how to train my dog to sit", "What do you think of Mars?", "taylor swift's best friend",
           "Summarise this delivery chat:\nCustomer: where is my parcel?\nAgent: on its way", "Write a haiku, please",
           "Explain \"attention\" in transformers, briefly", "Plan a 3-day trip to Lisbon, with costs")
WORDS = ("the", "dog", "should", "sit", "when", "you", "say", "so,", "reward", "it", "with", "a", "treat.",
         "\"good\"", "Mars", "is", "red;", "quite", "far", "away", "and", "cold.", "1.", "2.", "\n", "- step")
VOTE_COLUMNS = ("comparison_id", "voter", "choice", "previous_choice", "changes", "created_at", "updated_at",
                "tstamp", "matchup", "model_a", "model_b", "platform", "server", "channel", "identity_leak",
                "reply_problem", "base_side", *STYLE_TOTALS)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def cached_path(votes: int) -> Path:
    return CACHE_DIR / f"arena-{votes}-votes-v{VERSION}.db"


def is_complete(path: Path, votes: int) -> bool:
    """A cached file counts only if it has exactly ``votes`` votes (a build interrupted half-way has fewer)."""
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(path) as connection:
            return int(connection.execute("SELECT count(*) FROM votes").fetchone()[0]) == votes
    except sqlite3.Error:
        return False


def _reply(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(15, 60))).replace(" \n ", "\n")


def _outcome(rng: random.Random, model_a: str, model_b: str) -> str:
    draw = rng.random()
    if draw < BOTH_BAD_SHARE:
        return "both_bad"
    if draw < BOTH_BAD_SHARE + TIE_SHARE:
        return "tie"
    p_a = 1 / (1 + math.pow(10, STRENGTH[model_b] - STRENGTH[model_a]))
    return "a" if rng.random() < p_a else "b"


Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]


def _csv_row(comparison: tuple[object, ...], replies: list[tuple[object, ...]]) -> tuple[object, ...]:
    """The stored CSV rendering of one generated comparison, by the app's own renderer."""
    fields = dict(zip(COMPARISON_COLUMNS, comparison, strict=True))
    a, b = (Reply(text=str(r[3]), tokens=int(str(r[4])), latency_ms=int(str(r[5])),
                  error=None if r[6] is None else str(r[6])) for r in replies)
    c = Comparison(id=str(fields["id"]), prompt=str(fields["prompt"]), matchup=str(fields["matchup"]),
                   model_a=str(fields["model_a"]), model_b=str(fields["model_b"]),
                   base_side=Side(str(fields["base_side"])), blind=bool(fields["blind"]),
                   requester=str(fields["requester"]),
                   place=Place(str(fields["platform"]), str(fields["channel"]), str(fields["server"])),
                   created_at=START, status=Status.DONE, reply_a=a, reply_b=b)
    return (c.id, CSV_PARTS_VERSION, *csv_parts(c))


def _batches(comparisons: int, rng: random.Random) -> Iterator[Rows]:
    names = list(MATCHUPS)
    for first in range(0, comparisons, BATCH):
        comparison_rows: list[tuple[object, ...]] = []
        reply_rows: list[tuple[object, ...]] = []
        vote_rows: list[tuple[object, ...]] = []
        csv_rows: list[tuple[object, ...]] = []
        for n in range(first, min(first + BATCH, comparisons)):
            cid = f"{rng.getrandbits(64):016x}"
            matchup = names[n % len(names)]
            base, tuned = MATCHUPS[matchup]
            base_side = rng.choice("ab")
            model_a, model_b = (base, tuned) if base_side == "a" else (tuned, base)
            created = START + timedelta(seconds=SPAN_S * n / comparisons)
            leak, failed_side = rng.random() < 0.01, rng.random() < 0.01
            platform = rng.choice(("discord", "slack", "console"))
            comparison_rows.append((
                cid, f"{rng.choice(PROMPTS)} (#{n})", matchup, model_a, model_b, base_side, 1, f"U{n % VOTERS:06d}",
                platform, f"{platform}-server", f"channel-{n % 7}", "done", created.strftime(TIME_FORMAT),
                int(leak), int(failed_side), None, 1, None, None))
            replies = []
            for side, model in (("a", model_a), ("b", model_b)):
                broken = failed_side and side == "b"
                text = "" if broken else _reply(rng)
                replies.append(Reply(text, len(text.split())))
                # Not cut, no turn left out; then the style features the app stores with every saved reply.
                reply_rows.append((cid, side, model, text, replies[-1].tokens, rng.randint(300, 9000),
                                   "The model timed out after 120 s." if broken else None, False, 0,
                                   *style_values(replies[-1])))
            totals = style_totals(*replies)
            csv_rows.append(_csv_row(comparison_rows[-1], reply_rows[-2:]))
            for k, voter in enumerate(rng.sample(range(VOTERS), VOTES_PER_COMPARISON)):
                when = created + timedelta(seconds=30 + 45 * k)
                at = when.strftime(TIME_FORMAT)
                vote_rows.append((cid, f"U{voter:06d}", _outcome(rng, model_a, model_b), None, 0, at, at,
                                  tstamp_text(when.replace(tzinfo=UTC)), matchup, model_a, model_b, platform,
                                  f"{platform}-server", f"channel-{n % 7}", int(leak), int(failed_side),
                                  base_side, *totals))
        yield comparison_rows, reply_rows, vote_rows, csv_rows


def build(path: Path, votes: int) -> None:
    """Write a fresh database of ``votes`` votes at ``path`` (via a temporary file, renamed when complete)."""
    if votes % VOTES_PER_COMPARISON:
        raise ValueError(f"votes must be a multiple of {VOTES_PER_COMPARISON}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    migrate(engine)  # the schema exactly as the app creates it, indexes included
    engine.dispose()
    connection = sqlite3.connect(partial)
    try:
        # Safe only because an interrupted build is thrown away; the app itself runs with synchronous=NORMAL.
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        batches = _batches(votes // VOTES_PER_COMPARISON, random.Random(SEED))
        for comparison_rows, reply_rows, vote_rows, csv_rows in batches:
            with connection:
                for table, columns, rows in (("comparisons", COMPARISON_COLUMNS, comparison_rows),
                                             ("replies", REPLY_COLUMNS, reply_rows),
                                             ("votes", VOTE_COLUMNS, vote_rows),
                                             ("comparison_csv", CSV_PARTS_COLUMNS, csv_rows)):
                    connection.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    partial.replace(path)
