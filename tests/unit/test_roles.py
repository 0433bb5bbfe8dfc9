"""A matchup names each slot's role (base, finetuned, reference); a bad one is one clear config error."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import parse_settings
from bot.errors import ConfigError

MODELS = {"a": {"provider": "echo", "model": "a"}, "b": {"provider": "echo", "model": "b"}}


def matchup(**spec: Any) -> dict[str, Any]:
    return {"models": MODELS, "matchups": {"m": {"base": "a", "finetuned": "b", **spec}}}


def test_roles_default_to_base_and_finetuned_and_can_name_a_reference() -> None:
    plain = parse_settings(matchup(), {}).matchups["m"]
    assert (plain.base_role, plain.finetuned_role) == ("base", "finetuned")
    held = parse_settings(matchup(base_role="reference"), {}).matchups["m"]
    assert (held.base_role, held.finetuned_role) == ("reference", "finetuned")


@pytest.mark.parametrize(("spec", "message"), [
    ({"base_role": "judge"}, "matchups.m.base_role: must be one of base, finetuned, reference, not 'judge'"),
    ({"finetuned_role": 3}, "matchups.m.finetuned_role: must be a string"),
    ({"roles": "x"}, "matchups.m.roles: unknown key; known: base, finetuned, blind, base_role, finetuned_role"),
])
def test_a_bad_role_is_one_clear_error(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(matchup(**spec), {})
    assert message in str(caught.value)
