"""What the web shows, as plain values: filters parsed from the URL, comparisons and reveals as JSON. Voter
ids never appear: only their export pseudonyms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.web import markdown
from bot import display
from bot.domain import Comparison, Reply, Reveal, Side, Status, Vote
from bot.errors import ArenaError
from bot.export import pseudonym
from bot.outcomes import OUTCOMES
from bot.ports import UNVOTED, BrowsedComparison, ComparisonFilter
from bot.statistics.slices import BattleQuery

PAGE_SIZE = 25
SLICE_KEYS = ("matchup", "platform", "server", "channel", "since", "until")
BATTLE_KEYS = ("q", "matchup", "platform", "channel", "outcome", "since", "until")
BROWSE_OUTCOMES = (*OUTCOMES, UNVOTED)
MAX_FIELD_CHARS = 200


class BadFilterError(ArenaError):
    """A filter in the URL that cannot be read (the message says which and how to write it)."""


def _text(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key, "").strip()[:MAX_FIELD_CHARS]
    return value or None


def _when(params: Mapping[str, str], key: str) -> datetime | None:
    raw = _text(params, key)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadFilterError(f"{key} is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T09:00).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def battle_query(params: Mapping[str, str]) -> BattleQuery:
    """The leaderboard's slice, from the same names as ``ftarena leaderboard``'s options."""
    return BattleQuery(matchup=_text(params, "matchup"), platform=_text(params, "platform"),
                       server=_text(params, "server"), channel=_text(params, "channel"),
                       since=_when(params, "since"), until=_when(params, "until"))


def comparison_filter(params: Mapping[str, str]) -> ComparisonFilter:
    outcome = _text(params, "outcome")
    if outcome is not None and outcome not in BROWSE_OUTCOMES:
        raise BadFilterError(f"outcome is one of {', '.join(BROWSE_OUTCOMES)}.")
    raw_page = params.get("page", "1")
    if not raw_page.isdigit() or int(raw_page) < 1:
        raise BadFilterError("page is a whole number from 1.")
    return ComparisonFilter(search=_text(params, "q") or "", matchup=_text(params, "matchup"),
                            platform=_text(params, "platform"), channel=_text(params, "channel"), outcome=outcome,
                            since=_when(params, "since"), until=_when(params, "until"),
                            offset=(int(raw_page) - 1) * PAGE_SIZE, limit=PAGE_SIZE)


def kept(params: Mapping[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    """The filters worth keeping in a link (empty ones dropped), for URLs a view can be shared by."""
    return {k: params[k].strip() for k in keys if params.get(k, "").strip()}


def _reply(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "error": reply.error, "tokens": reply.tokens, "latency_ms": reply.latency_ms}


def arena_comparison(comparison: Comparison) -> dict[str, Any]:
    """A comparison as the arena shows it while voting is open: no model names when blind, no requester."""
    done = comparison.status is not Status.RUNNING
    shown: dict[str, Any] = {"id": comparison.id, "status": comparison.status.value}
    for side in Side:
        reply = comparison.reply(side)
        shown[side.value] = {**_reply(reply), "label": display.side_label(comparison, side),
                             "html": markdown.to_html(reply.text) if done else None}
    return shown


def reveal_json(reveal: Reveal) -> dict[str, Any]:
    c = reveal.comparison
    return {
        "comparison_id": reveal.comparison_id, "choice": reveal.choice.value,
        "label": display.CHOICE_LABELS[reveal.choice],
        "changed_from": reveal.changed_from.value if reveal.changed_from else None,
        "sides": {side.value: {"model": c.model_on(side), "role": display.role(c, side)} for side in Side},
        "counts": {"a": reveal.counts.a, "b": reveal.counts.b, "tie": reveal.counts.tie,
                   "both_bad": reveal.counts.both_bad, "total": reveal.counts.total},
    }


def battle_json(comparison: Comparison, salt: str, votes: list[Vote] | None = None,
                counts: Mapping[str, int] | None = None, revealed: bool = True) -> dict[str, Any]:
    """A comparison for /api/battles: its requester and voters as pseudonyms only; the models and sides null
    unless ``revealed`` (see ``WebState.revealed``)."""
    shown: dict[str, Any] = {
        "id": comparison.id, "prompt": comparison.prompt, "matchup": comparison.matchup,
        "model_a": comparison.model_a if revealed else None, "model_b": comparison.model_b if revealed else None,
        "base_side": comparison.base_side.value if revealed else None,
        "blind": comparison.blind, "requester": pseudonym(comparison.requester, salt),
        "platform": comparison.place.platform, "server": comparison.place.server,
        "channel": comparison.place.channel, "created_at": comparison.created_at.isoformat(),
        "status": comparison.status.value, "identity_leak": comparison.identity_leak,
        "reply_a": _reply(comparison.reply_a), "reply_b": _reply(comparison.reply_b),
    }
    if counts is not None:
        shown["counts"] = dict(counts)
    if votes is not None:
        shown["votes"] = [vote_json(v, salt) for v in votes]
    return shown


def vote_json(vote: Vote, salt: str) -> dict[str, Any]:
    return {"judge": pseudonym(vote.voter, salt), "choice": vote.choice.value,
            "created_at": vote.created_at.isoformat(), "updated_at": vote.updated_at.isoformat(),
            "changes": vote.changes}


def counts_json(item: BrowsedComparison) -> dict[str, int]:
    c = item.counts
    return {"a": c.a, "b": c.b, "tie": c.tie, "both_bad": c.both_bad, "total": c.total}
