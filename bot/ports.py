"""Ports: what the core needs from the outside world, as Protocols. Implementations live elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from bot.channels import StoredSetting
from bot.domain import Choice, Comparison, Counts, GenerationParams, LengthLimit, ModelInput, Place, Reply, Vote
from bot.judgement import JudgedComparison, Judgement
from bot.statistics.slices import BattleQuery, BattleSet
from bot.statistics.vote_table import VoteTable

if TYPE_CHECKING:  # bot.export imports Battle from here: at run time this import would be circular
    from bot.export import ExportOptions
    from bot.registry import Contender


class Provider(Protocol):
    """Serves one configured model. ``stream`` yields text pieces (one per token where the backend
    allows it), then ``LENGTH_LIMIT`` if the reply stopped at ``max_tokens``, and must stop its work promptly
    when the consuming task is cancelled. The prompt is a text, or a message list for a model whose template
    is ``chat`` (a conversation's later turn: bot/conversation.py)."""

    def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str | LengthLimit]: ...

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class OutcomeCount:
    """Votes on one matchup grouped by outcome for the fine-tuned model:
    ``finetuned`` (it won), ``base`` (it lost), ``tie`` or ``both_bad``."""

    matchup: str
    base_model: str
    finetuned_model: str
    outcome: str
    count: int


@dataclass(frozen=True)
class Battle:
    """One vote joined with its comparison and replies; the unit of every export."""

    comparison: Comparison
    vote: Vote


@dataclass(frozen=True)
class ComparisonFilter:
    """One page of the comparison list that people browse (the web's /battles), newest first."""

    search: str = ""  # words the prompt contains, case-insensitive
    matchup: str | None = None
    platform: str | None = None
    channel: str | None = None
    # A vote seen from the fine-tuned side (bot.outcomes.OUTCOMES): comparisons with at least one such vote;
    # UNVOTED: comparisons nobody has voted on.
    outcome: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    offset: int = 0
    limit: int = 25


UNVOTED = "unvoted"


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a member removes (or, on a dry run, would remove)."""

    votes: int  # their own votes
    reasons: int  # of those, the ones with a reason
    comparisons: int  # comparisons they asked for
    others_votes: int  # other members' votes on those comparisons


@dataclass(frozen=True)
class BrowsedComparison:
    comparison: Comparison
    counts: Counts


@dataclass(frozen=True)
class ComparisonPage:
    items: tuple[BrowsedComparison, ...]
    total: int  # comparisons matching the filter, on every page


class Repository(Protocol):
    """Persistence of comparisons and votes, and of channel control (settings, rate-limit windows). Async methods
    must not block the event loop."""

    async def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        ...

    async def add_comparison(self, comparison: Comparison) -> None: ...

    async def save_result(self, comparison: Comparison) -> None:
        """Store both replies and the final status of a comparison added earlier."""
        ...

    async def get_comparison(self, comparison_id: str) -> Comparison | None: ...

    async def record_vote(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None]:
        """Insert or change one voter's vote as of ``at``, by ``bot.domain.last_click_wins``: returns the vote
        with the previous choice, if any. Raises UnknownComparisonError when the comparison does not exist."""
        ...

    async def record_vote_and_count(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None, Counts]:
        """``record_vote`` and ``counts`` in one transaction (the hot path of every click)."""
        ...

    async def counts(self, comparison_id: str) -> Counts: ...

    async def outcome_counts(self, matchup: str | None = None) -> list[OutcomeCount]: ...

    async def fail_unfinished(self, older_than: datetime | None = None, matchup: str | None = None) -> int:
        """Mark comparisons still running (and created before ``older_than``) as failed, as a
        restarted process does for work it lost; returns how many."""
        ...

    async def battle_set(self, query: BattleQuery) -> BattleSet:
        """Grouped battle counts for a slice after its quality filters, with what each filter removed. The
        ``daily_cap`` filter keeps each voter's first votes (in the order first cast) of every UTC day of
        their last click; it applies here only."""
        ...

    async def vote_table(self, query: BattleQuery) -> VoteTable:
        """The votes of a slice after its quality filters (the cap aside), one by one in the order first cast,
        with both replies' style features (as stored when each reply was saved)."""
        ...

    async def vote_places(self, matchup: str) -> list[Place]:
        """Every place (platform, server, channel) with a vote on the matchup."""
        ...

    async def claim_announcements(self, matchup: str, places: Sequence[Place], state: str,
                                  at: datetime) -> list[Place]:
        """Mark ``places`` as told that the matchup is decided (``state``); returns those no call (in any process)
        marked before, which the caller then tells."""
        ...

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        """How many votes each voter has in the slice after its quality filters (the cap aside)."""
        ...

    async def browse(self, query: ComparisonFilter) -> ComparisonPage:
        """A page of comparisons (with their replies and vote counts) matching ``query``, newest first."""
        ...

    async def votes_on(self, comparison_id: str) -> list[Vote]:
        """Every vote on one comparison, oldest first (voter ids included: pseudonymise before showing)."""
        ...

    async def record_feedback(self, comparison_id: str, voter: str, text: str) -> bool:
        """Store ``text`` as the reason of ``voter``'s vote on the comparison, replacing any earlier one (""
        clears it); False when they have no vote there. Changing the vote's choice clears its reason."""
        ...

    async def forget(self, voter: str, dry_run: bool = False) -> Forgotten:
        """Delete the member's votes and reasons, and the comparisons they asked for with every vote on them
        (with ``dry_run``, delete nothing); returns what it removes."""
        ...

    async def installation_value(self, key: str, proposed: str) -> str:
        """The value stored under ``key`` for this installation; when there is none, ``proposed`` is stored
        and returned (of processes starting at once, all get the first one stored)."""
    async def save_judgement(self, judgement: Judgement) -> None:
        """Store a judge's judgement of a comparison, replacing that judge's earlier one. Kept apart from votes."""
        ...

    async def judged(self, matchup: str | None = None, judge: str | None = None, *, platform: str | None = None,
                     server: str | None = None, channel: str | None = None) -> list[JudgedComparison]:
        """Every stored judgement (of ``judge``, on comparisons of ``matchup`` asked on ``platform``, ``server``
        and ``channel``, each when named) without its raw texts, with its comparison's sides and the members'
        vote counts, oldest comparison first."""
        ...

    async def unjudged(self, judge: str, matchup: str | None = None, limit: int | None = None) -> list[str]:
        """The ids of up to ``limit`` finished comparisons with two answers that ``judge`` has not answered on (no
        judgement, or only a failed one), oldest first. Ids only: a backfill of a big arena loads each comparison
        when it judges it, not all at once."""
        ...

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        """Votes with their comparisons in the order first cast (or grouped by comparison, in that order
        within each), streamed; ``query`` slices and filters them, the cap aside (no query: every vote).
        Blocking: call it in a worker thread."""
        ...

    async def has_later_turns(self, query: BattleQuery | None = None) -> bool:
        """Whether any vote ``iter_battles(query)`` yields is on a conversation's later turn (turn > 1)."""
        ...

    def write_csv(self, out: IO[str], options: ExportOptions, query: BattleQuery | None = None) -> int:
        """The votes of ``iter_battles(query)`` as ``bot.export.write_csv`` writes them, header first, byte for
        byte, into ``out`` (a text stream, written from its current position); returns how many votes.
        Blocking: call it in a worker thread."""
        ...

    async def scope_settings(self, platform: str, server: str, channel: str) -> list[StoredSetting]:
        """The settings admins stored for this server as a whole (``channel`` empty in the result) and for this
        channel, in any order."""
        ...

    async def put_settings(self, platform: str, server: str, channel: str, values: Mapping[str, str | None],
                           by: str, at: datetime) -> None:
        """Store each key's value for the whole server (``channel`` empty) or one channel, in one transaction;
        None removes the key there. ``by`` (the admin's voter id) and ``at`` are kept with the values."""
        ...

    async def take_rate_slot(self, member: str, limit: int, window_s: float, at: datetime) -> float:
        """Count one comparison for ``member`` at ``at`` if fewer than ``limit`` were counted in the ``window_s``
        seconds before, and return 0; otherwise count nothing and return the seconds until a slot frees. Atomic
        across processes sharing the database."""
        ...

    async def prune_rate_slots(self, before: datetime) -> int:
        """Forget the members whose latest counted comparison is older than ``before`` (their window is empty);
        returns how many."""

@runtime_checkable
class ContenderRegistry(Protocol):
    """The model registry (``bot/registry.py``) and the installation's training lock. Contenders are never
    deleted: retiring one keeps its row, its lineage and its votes."""

    async def contenders(self, include_retired: bool = False) -> list[Contender]:
        """Registered contenders, oldest first."""
        ...

    async def register_contender(self, contender: Contender) -> None:
        """Raise RegistryError when a contender (live or retired) already has the name."""
        ...

    async def retire_contender(self, name: str, at: datetime) -> bool:
        """Mark a live contender retired; False when there is no live contender of that name."""
        ...

    async def registry_version(self) -> str:
        """A token that changes whenever a contender is registered or retired (cheap: polled by every bot)."""
        ...

    async def claim_training(self, holder: str, at: datetime, stale_before: datetime) -> str | None:
        """Take the installation's one training slot for ``holder``: None when taken, else the current holder.
        The holder claiming again renews its claim (a heartbeat); a claim last renewed before ``stale_before``
        belongs to a dead run and is taken over."""
        ...

    async def release_training(self, holder: str) -> None:
        """Give the slot back, if ``holder`` holds it."""
        ...
