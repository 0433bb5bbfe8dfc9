"""Comparisons and matchups built directly from domain types, for tests of the renderers."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import Comparison, Matchup, Model, Place, Reply, Side, Status


def comparison(text_a: str = "reply A", text_b: str = "reply B", *, prompt: str = "Tell me a joke",
               status: Status = Status.DONE, blind: bool = True, model_a: str = "base-model",
               model_b: str = "tuned-model", error_a: str | None = None,
               comparison_id: str = "0123456789abcdef0123456789abcdef") -> Comparison:
    """A comparison with base on side A, fine-tune on side B."""
    return Comparison(
        id=comparison_id, prompt=prompt, matchup="pair", model_a=model_a, model_b=model_b, base_side=Side.A,
        blind=blind, requester="u1", place=Place(platform="test"), created_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=status, reply_a=Reply(text=text_a, tokens=len(text_a.split()), latency_ms=1200, error=error_a),
        reply_b=Reply(text=text_b, tokens=len(text_b.split()), latency_ms=900))


def matchup(name: str, base: str = "base-model", finetuned: str = "tuned-model", blind: bool = True) -> Matchup:
    return Matchup(name=name, base=Model(name=base, provider="openai", model=base),
                   finetuned=Model(name=finetuned, provider="openai", model=finetuned), blind=blind)

