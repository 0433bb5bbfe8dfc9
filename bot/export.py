"""Stream votes out, row by row (memory stays flat however many there are):

- arena battles (``csv``, ``jsonl``, ``parquet``) in lmsys ``chatbot_arena_conversations`` columns plus ours;
- preference data for the next fine-tune: TRL DPO (``dpo``: prompt, chosen, rejected) and KTO
  (``kto``: prompt, completion, label); a conversation's later turn in TRL's conversational form.

Voters are pseudonymised (a salted hash) unless ``raw_voters`` is set by an admin."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from typing import IO, Any

from bot.conversation import conversation_rows, messages
from bot.domain import Choice, Comparison, Side
from bot.errors import ArenaError
from bot.outcomes import WINNER
from bot.ports import Battle
from bot.statistics.style import (
    BOLD_MARKS,
    HEADER_LEVELS,
    LIST_KINDS,
    SIDES,
    StyleFeatures,
    conv_metadata,
    style_features,
)

COLUMNS = [
    "question_id", "model_a", "model_b", "winner", "judge", "conversation_a", "conversation_b",
    "turn", "anony", "language", "tstamp",
    "matchup", "base_model", "platform", "server", "channel", "vote_changes", "feedback", "latency_a_ms",
    "latency_b_ms", "error_a", "error_b", "conv_metadata",
]
CSV_HEADER = ",".join(COLUMNS) + "\r\n"
SALT = "finetune-arena"
PARQUET_BATCH = 1000
PREFERENCE_FORMATS = ("dpo", "kto")
# Why a preference export left a comparison out (ExportOptions.left_out).
CUT = "a reply cut at the length limit"
FAILED = "a failed or empty reply"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Characters that make Python's csv module (QUOTE_MINIMAL) quote a field.
CSV_SPECIAL = frozenset(',"\r\n')
JUDGE_CACHE = 1 << 16
# Bump whenever csv_parts renders differently: stored renderings of another version are not used.
CSV_PARTS_VERSION = 2


@dataclass(frozen=True)
class ExportOptions:
    salt: str = SALT
    raw_voters: bool = False
    # DPO only: one row per comparison once it has this many decided votes and a strict majority (KTO: per vote).
    min_votes: int = 1
    majority: bool = False
    # DPO/KTO: a reply the length limit stopped is not training data unless asked for.
    include_cut: bool = False
    # DPO/KTO: every row in TRL's conversational form (first turns too), so that a file holding a conversation's
    # later turn has one form throughout (``datasets`` loads one type per column). ArenaService.export sets it.
    conversational: bool = False
    # DPO/KTO count here what each rule left out (DPO: comparisons, KTO: votes), for the caller to report.
    left_out: Counter[str] = field(default_factory=Counter, compare=False)


def pseudonym(voter: str, salt: str = SALT) -> str:
    """A stable, non-reversible stand-in for a voter id (same voter -> same judge)."""
    return "judge_" + hashlib.sha256(f"{salt}:{voter}".encode()).hexdigest()[:16]


def epoch_ms(at: datetime) -> int:
    """Milliseconds since 1970, truncated (what the database computes for the CSV export)."""
    return (at - EPOCH) // timedelta(milliseconds=1)


def tstamp_text(at: datetime) -> str:
    """The CSV ``tstamp`` of a vote's time, e.g. ``1790121630.12``: stored with each vote when it is cast."""
    return repr(epoch_ms(at.astimezone(UTC)) / 1000)


def battle_row(battle: Battle, options: ExportOptions | None = None) -> dict[str, Any]:
    options = options or ExportOptions()
    c, v = battle.comparison, battle.vote
    return {
        "question_id": c.id,
        "model_a": c.model_a,
        "model_b": c.model_b,
        "winner": WINNER[v.choice],
        "judge": v.voter if options.raw_voters else pseudonym(v.voter, options.salt),
        "conversation_a": conversation_rows(c, Side.A),
        "conversation_b": conversation_rows(c, Side.B),
        "turn": c.turn,
        "anony": c.blind,
        "language": "",
        "tstamp": epoch_ms(v.updated_at) / 1000,
        "matchup": c.matchup,
        "base_model": c.model_on(c.base_side),
        "platform": c.place.platform,
        "server": c.place.server,
        "channel": c.place.channel,
        "vote_changes": v.changes,
        "feedback": v.feedback,
        "latency_a_ms": c.reply_a.latency_ms,
        "latency_b_ms": c.reply_b.latency_ms,
        "error_a": c.reply_a.error or "",
        "error_b": c.reply_b.error or "",
        "conv_metadata": style_metadata(c),
    }


def style_metadata(c: Comparison) -> dict[str, Any]:
    """Both replies' style features in lmsys ``conv_metadata`` form, counted from the replies as stored (the
    same function counts them for the database's columns when a reply is saved)."""
    return conv_metadata(style_features(c.reply_a.text, c.reply_a.tokens),
                         style_features(c.reply_b.text, c.reply_b.tokens))


def write_jsonl(battles: Iterable[Battle], out: IO[str], options: ExportOptions | None = None) -> int:
    n = 0
    for battle in battles:
        out.write(json.dumps(battle_row(battle, options), ensure_ascii=False) + "\n")
        n += 1
    return n


def csv_field(text: str) -> str:
    """``text`` as Python's csv module writes it (QUOTE_MINIMAL)."""
    if CSV_SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


# The winner column by stored choice, CSV-ready.
WINNERS = {choice.value: csv_field(text) for choice, text in WINNER.items()}


def csv_parts(c: Comparison) -> tuple[str, str, str, str]:
    """A comparison's CSV columns, in four pieces that a vote's columns go between:
    ``head + winner + "," + judge + "," + middle + tstamp + slices + vote_changes + "," + feedback + tail``.
    Stored for every comparison when it is saved, so the CSV export stitches text instead of rendering."""
    # json.dumps(conversation_rows(c, side), ensure_ascii=False), a few times faster: this runs for every
    # comparison saved. Earlier turns (each side's own answers) come first.
    user = '{"role": "user", "content": ' + encode_basestring(c.prompt) + '}, {"role": "assistant", "content": '

    def conversation(side: Side) -> str:
        earlier = "".join('{"role": "user", "content": ' + encode_basestring(turn.prompt) +
                          '}, {"role": "assistant", "content": ' + encode_basestring(turn.answer(side)) + "}, "
                          for turn in c.history)
        return csv_field("[" + earlier + user + encode_basestring(c.reply(side).text) + "}]")

    head = f"{csv_field(c.id)},{csv_field(c.model_a)},{csv_field(c.model_b)},"
    middle = f"{conversation(Side.A)},{conversation(Side.B)},{c.turn},{c.blind},,"
    slices = ",".join(("", *map(csv_field, (c.matchup, c.model_on(c.base_side), c.place.platform, c.place.server,
                                            c.place.channel)), ""))
    tail = (f",{c.reply_a.latency_ms},{c.reply_b.latency_ms},{csv_field(c.reply_a.error or '')},"
            f"{csv_field(c.reply_b.error or '')},{csv_field(json.dumps(style_metadata(c)))}\r\n")
    return head, middle, slices, tail


def csv_line(parts: tuple[str, str, str, str], choice: str, judge: str, ms: int, changes: int,
             feedback: str = "") -> str:
    """One vote's CSV line: its comparison's ``csv_parts`` with the vote's own columns between them (the
    database assembles the same text for the fast export, storage/csv_export.py). ``judge`` is CSV-ready."""
    head, middle, slices, tail = parts
    return f"{head}{WINNERS[choice]},{judge},{middle}{ms / 1000!r}{slices}{changes},{csv_field(feedback)}{tail}"


def judge_for(options: ExportOptions) -> Callable[[str], str]:
    """The CSV ``judge`` column for a voter: a salted pseudonym, or the raw id for an admin who asked."""
    @functools.lru_cache(maxsize=JUDGE_CACHE)
    def judge(voter: str) -> str:
        return csv_field(voter if options.raw_voters else pseudonym(voter, options.salt))

    return judge


def write_csv(battles: Iterable[Battle], out: IO[str], options: ExportOptions | None = None) -> int:
    """CSV with the message lists as JSON text, the way the public arena CSVs carry them: byte for byte what
    ``csv.DictWriter`` writes for ``battle_row``. Each line is rendered here from its battle; the app's
    repository writes the same lines faster from renderings it stored (``Repository.write_csv``)."""
    judge = judge_for(options or ExportOptions())
    out.write(CSV_HEADER)
    n = 0
    for battle in battles:
        c, v = battle.comparison, battle.vote
        out.write(csv_line(csv_parts(c), v.choice.value, judge(v.voter), epoch_ms(v.updated_at), v.changes,
                           v.feedback))
        n += 1
    return n


def write_parquet(battles: Iterable[Battle], out: IO[bytes], options: ExportOptions | None = None) -> int:
    """Parquet in batches (needs the ``parquet`` extra: pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ArenaError("Parquet export needs pyarrow: pip install 'finetune-arena[parquet]'.") from None
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    types = {"conversation_a": pa.list_(message), "conversation_b": pa.list_(message), "turn": pa.int64(),
             "anony": pa.bool_(), "tstamp": pa.float64(), "vote_changes": pa.int64(),
             "latency_a_ms": pa.int64(), "latency_b_ms": pa.int64()}
    counts = {f"{key}_{side}": pa.struct([(kind, pa.int64()) for kind in kinds]) for side in SIDES
              for key, kinds in (("header_count", HEADER_LEVELS), ("list_count", LIST_KINDS),
                                 ("bold_count", BOLD_MARKS))}
    types["conv_metadata"] = pa.struct([(name, counts.get(name, pa.int64())) for name in conv_metadata(
        StyleFeatures(), StyleFeatures())])
    schema = pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])
    n = 0
    with pq.ParquetWriter(out, schema) as writer:
        rows = (battle_row(b, options) for b in battles)
        while batch := list(itertools.islice(rows, PARQUET_BATCH)):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def _usable(c: Comparison, options: ExportOptions) -> bool:
    """Whether a comparison's replies may become training data; counts what it leaves out, and why."""
    if c.reply_problem:
        options.left_out[FAILED] += 1
        return False
    if not options.include_cut and (c.reply_a.cut or c.reply_b.cut):
        options.left_out[CUT] += 1
        return False
    return True


def _decisions(battles: Iterable[Battle], options: ExportOptions) -> Iterator[tuple[Comparison, Side, list[str]]]:
    """(comparison, winning side, the reasons its voters gave) per decided vote, or per comparison when
    aggregating voters (then the reasons of the votes for the winning side)."""
    aggregate = options.majority or options.min_votes > 1
    for _, group in itertools.groupby(battles, key=lambda b: b.comparison.id):
        votes = list(group)
        if votes and not _usable(votes[0].comparison, options):
            continue
        decided = [b for b in votes if b.vote.choice in (Choice.A, Choice.B)]
        if not aggregate:
            yield from ((b.comparison, Side(b.vote.choice.value), _reasons([b])) for b in decided)
            continue
        a = sum(b.vote.choice is Choice.A for b in decided)
        if len(decided) >= options.min_votes and a * 2 != len(decided):
            winner = Side.A if a * 2 > len(decided) else Side.B
            yield decided[0].comparison, winner, _reasons(b for b in decided if b.vote.choice.value == winner.value)


def _reasons(battles: Iterable[Battle]) -> list[str]:
    return [b.vote.feedback for b in battles if b.vote.feedback]


def preference_prompt(c: Comparison, side: Side, conversational: bool = False) -> str | list[dict[str, str]]:
    """The ``prompt`` of a preference row: the text of a first turn; on a later turn (or in a conversational
    export) TRL's conversational form, the conversation as the model on ``side`` saw it (its own answers)."""
    if not (c.history or conversational):
        return c.prompt
    return [{"role": m.role, "content": m.content} for m in messages(c.history, side, c.prompt)]


def _completion(c: Comparison, side: Side, conversational: bool) -> str | list[dict[str, str]]:
    """A reply as a preference row holds it: text, or (in conversational form) one assistant message."""
    text = c.reply(side).text
    return [{"role": "assistant", "content": text}] if c.history or conversational else text


def write_dpo(battles: Iterable[Battle], out: IO[str], options: ExportOptions | None = None) -> int:
    """TRL DPO rows ``{prompt, chosen, rejected}`` with ``feedback``, the voters' reasons (a list: a row may
    stand for several votes; metadata, not a TRL column); ties, both-bad and failed replies are left out. On a
    later turn the two sides' histories differ; the prompt is the winner's (the conversation that was preferred)."""
    options = options or ExportOptions()
    n = 0
    for comparison, winner, reasons in _decisions(battles, options):
        loser = Side.B if winner is Side.A else Side.A
        form = options.conversational
        out.write(json.dumps({"prompt": preference_prompt(comparison, winner, form),
                              "chosen": _completion(comparison, winner, form),
                              "rejected": _completion(comparison, loser, form), "feedback": reasons},
                             ensure_ascii=False) + "\n")
        n += 1
    return n


def write_kto(battles: Iterable[Battle], out: IO[str], options: ExportOptions | None = None) -> int:
    """TRL KTO rows ``{prompt, completion, label}`` with ``feedback``, the vote's reason ("" for none): a win
    gives the winner True and the loser False, both-bad gives two False, a tie says nothing absolute and is
    left out."""
    options = options or ExportOptions()
    n = 0
    for battle in battles:
        c, choice = battle.comparison, battle.vote.choice
        if choice is Choice.TIE or not _usable(c, options):
            continue
        for side in Side:
            label = choice is not Choice.BOTH_BAD and side.value == choice.value
            form = options.conversational
            out.write(json.dumps({"prompt": preference_prompt(c, side, form), "completion": _completion(c, side, form),
                                  "label": label, "feedback": battle.vote.feedback}, ensure_ascii=False) + "\n")
            n += 1
    return n


Writer = Callable[[Iterable[Battle], Any, ExportOptions], int]  # battles, out, options
FORMATS: dict[str, Writer] = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet,
                              "dpo": write_dpo, "kto": write_kto}
BINARY_FORMATS = ("parquet",)


def writer_for(fmt: str) -> Writer:
    try:
        return FORMATS[fmt.lower()]
    except KeyError:
        raise ArenaError(f"Unknown export format {fmt[:20]!r}: use {', '.join(FORMATS)}.") from None
