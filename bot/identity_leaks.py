"""Identity leaks: a prompt or reply that reveals which model is which, so a blind vote would be about the
name rather than the answer. Comparisons are flagged when they finish; the analysis filters drop them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Prompts that ask a model who it is make blind votes about the name, not the answer.
IDENTITY_PROMPT = re.compile(
    r"\b(?:who are you|who made you|what(?:['’]s| is) your name|which (?:model|llm|ai) are you|"
    r"what model are you)\b|\bare you (?:chat)?gpt|\bare you (?:llama|gemma|claude|mistral|smollm)", re.IGNORECASE)
# Very short names ("a", "gpt") would match ordinary words; only distinctive ones count.
MIN_NAME_CHARS = 5


def identity_leak(prompt: str, replies: Iterable[str], model_names: Iterable[str]) -> bool:
    """True when the prompt asks for the model's identity, or a model's name shows in the prompt or a reply."""
    if IDENTITY_PROMPT.search(prompt):
        return True
    pattern = _names_pattern(tuple(model_names))
    return pattern is not None and any(pattern.search(text) for text in (prompt, *replies))


@functools.lru_cache(maxsize=256)
def _names_pattern(model_names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Each name as a whole word (``llama`` not in ``llamas``), case-insensitive: as configured, without
    its organisation (``meta-llama/``) and without a provider's prefix (``embedded:``)."""
    forms: set[str] = set()
    for name in model_names:
        bare = name.rsplit("/", 1)[-1]
        forms.update((name, bare, re.sub(r"^[a-z]+:", "", bare)))
    forms = {form for form in forms if len(form) >= MIN_NAME_CHARS}
    if not forms:
        return None
    words = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    return re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE)
