"""Domain types: models, matchups, comparisons, replies, votes and tallies. Plain data, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Choice(enum.StrEnum):
    A = "a"
    B = "b"
    TIE = "tie"
    BOTH_BAD = "both_bad"


class Side(enum.StrEnum):
    A = "a"
    B = "b"


class Status(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped by the member who asked (Ctrl-C in the terminal); replies not kept


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 128
    temperature: float = 0.7
    top_p: float = 0.95
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    """One contender. ``template`` is ``completion`` (plain text), ``chat`` (the model's own chat
    template) or a string holding ``{prompt}``, such as Llama-2's ``[INST] {prompt} [/INST]``."""

    name: str
    provider: str
    model: str
    template: str = "completion"
    params: GenerationParams = field(default_factory=GenerationParams)
    timeout_s: float = 120.0
    options: dict[str, str | int | float | bool] = field(default_factory=dict)


# What a contender is to the matchup: the model before fine-tuning, the fine-tune, or a reference it is held
# against (the seed lab's ChatGPT). A matchup's two slots default to ``base`` and ``finetuned``.
ROLES = ("base", "finetuned", "reference")


@dataclass(frozen=True)
class Matchup:
    name: str
    base: Model
    finetuned: Model
    blind: bool = True
    base_role: str = "base"  # what the ``base`` slot's model is (ROLES), shown in the reveal
    finetuned_role: str = "finetuned"


@dataclass(frozen=True)
class Place:
    """Where a comparison was asked for."""

    platform: str
    channel: str = ""
    server: str = ""


class LengthLimit:
    """Yielded last by a provider's stream when the reply stopped at ``max_tokens``: it is cut, not finished."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "LENGTH_LIMIT"


LENGTH_LIMIT = LengthLimit()


@dataclass
class Reply:
    text: str = ""
    tokens: int = 0
    latency_ms: int = 0
    error: str | None = None
    cut: bool = False  # stopped by the length limit (mid-sentence, most likely); kept out of training data
    dropped_turns: int = 0  # earlier turns of the conversation left out so the rest fit the model's context

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Message:
    """One message of a conversation, as chat templates and the lmsys export name them."""

    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Exchange:
    """One earlier turn of a conversation: the member's prompt and what the model on each side answered."""

    prompt: str
    answer_a: str
    answer_b: str

    def answer(self, side: Side) -> str:
        return self.answer_a if side is Side.A else self.answer_b


# What a provider is sent: a text, or (for a model with a chat template) the conversation's messages.
ModelInput = str | tuple[Message, ...]


@dataclass
class Comparison:
    id: str
    prompt: str
    matchup: str
    model_a: str
    model_b: str
    base_side: Side
    blind: bool
    requester: str
    place: Place
    created_at: datetime
    status: Status = Status.RUNNING
    reply_a: Reply = field(default_factory=Reply)
    reply_b: Reply = field(default_factory=Reply)
    identity_leak: bool = False
    # A follow-up is a turn of a conversation: the id of its first comparison, its turn number (1 for the
    # first) and the earlier turns, oriented to this comparison's sides. A regenerated one names its original.
    conversation_id: str | None = None
    turn: int = 1
    history: tuple[Exchange, ...] = ()
    regenerated_from: str | None = None

    @property
    def conversation(self) -> str:
        """The conversation this comparison belongs to: its first comparison's id."""
        return self.conversation_id or self.id
    # The roles of the matchup's two slots (Matchup.base_role, finetuned_role), from the configuration: the
    # service sets them, they are not stored.
    base_role: str = "base"
    finetuned_role: str = "finetuned"

    @property
    def reply_problem(self) -> bool:
        """A side failed or said nothing: such votes say little about quality."""
        return any(not r.ok or not r.text.strip() for r in (self.reply_a, self.reply_b))

    def reply(self, side: Side) -> Reply:
        return self.reply_a if side is Side.A else self.reply_b

    def model_on(self, side: Side) -> str:
        return self.model_a if side is Side.A else self.model_b

    @property
    def finetuned_side(self) -> Side:
        return Side.B if self.base_side is Side.A else Side.A


@dataclass(frozen=True)
class Vote:
    comparison_id: str
    voter: str
    choice: Choice
    created_at: datetime
    updated_at: datetime
    changes: int = 0
    feedback: str = ""  # the member's reason for the vote ("Why?"), the latest one they gave


def last_click_wins(stored: Vote | None, comparison_id: str, voter: str, choice: Choice,
                    at: datetime) -> tuple[Vote, Choice | None]:
    """The last-click-wins rule, stated once (the repositories follow it; storage/votes.py in one SQL upsert).

    A member holds one vote per comparison. Their click at ``at`` replaces the stored vote unless the stored
    one is newer (clicks reach the bot out of order, through several processes): a stale click changes
    nothing, and the stored vote comes back with itself as the previous choice. A replacing click keeps the
    vote's first time, takes the click's time, and counts a change (and drops the reason) when the choice
    differs. Returns the vote
    and the previous choice (None for a first vote)."""
    if stored is None:
        return Vote(comparison_id, voter, choice, at, at, 0), None
    if stored.updated_at > at:
        return stored, stored.choice
    changes = stored.changes + (stored.choice != choice)
    # A reason given for the other choice no longer explains this one.
    feedback = stored.feedback if stored.choice == choice else ""
    return Vote(comparison_id, voter, choice, stored.created_at, at, changes, feedback), stored.choice


@dataclass(frozen=True)
class Counts:
    """Votes on one comparison, by choice."""

    a: int = 0
    b: int = 0
    tie: int = 0
    both_bad: int = 0

    @property
    def total(self) -> int:
        return self.a + self.b + self.tie + self.both_bad


@dataclass(frozen=True)
class Reveal:
    """What a voter learns after voting."""

    comparison_id: str
    choice: Choice
    changed_from: Choice | None
    model_a: str
    model_b: str
    base_side: Side
    counts: Counts
    comparison: Comparison  # what front ends show beside the reveal (the public count, the header)


@dataclass(frozen=True)
class Tally:
    """Votes on one matchup from the fine-tuned model's point of view."""

    matchup: str
    base: str
    finetuned: str
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    # Issue #16, over the votes the ratings count (quality filters on): the win rate at equal reply length and
    # the anytime-valid decision in words (bot.statistics.sequential); None where not computed or no votes.
    lc_win_rate: float | None = None
    decision: str | None = None

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties + self.both_bad
