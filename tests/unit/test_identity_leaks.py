"""Identity leaks (bot/identity_leaks.py): prompts asking a model who it is, and model names in a prompt or reply."""

from __future__ import annotations

import pytest

from bot.identity_leaks import identity_leak

NAMES = ("google/gemma-3-270m", "my-tune")


@pytest.mark.parametrize("prompt", [
    "Who are you?", "WHO MADE YOU", "what's your name", "What is your name, friend?", "Which LLM are you?",
    "what model are you", "Are you ChatGPT?", "are you gpt-4o or something else?"])
def test_a_prompt_asking_for_the_models_identity_leaks(prompt: str) -> None:
    assert identity_leak(prompt, ["Paris.", "Paris, France."], []) is True


@pytest.mark.parametrize("prompt", [
    "Who are your favourite poets?",  # "who are you" only as a whole phrase
    "What is your favourite name for a cat?",
    "Are you sure the capital of France is Paris?"])
def test_a_prompt_that_only_resembles_an_identity_question_does_not_leak(prompt: str) -> None:
    assert identity_leak(prompt, ["Paris.", "Lyon."], NAMES) is False


@pytest.mark.parametrize(("prompt", "replies", "expected"), [
    ("Hello", ["Hi! I am gemma-3-270m.", "Hello there."], True),
    ("Hello", ["Hello there.", "I AM GEMMA-3-270M, nice to meet you"], True),  # any reply, any case
    ("Hello", ["I'm gemma-3-270m-it, instruction tuned."], True),  # a longer id still shows the name
    ("Is gemma-3-270m any good?", ["Yes.", "No."], True),  # the prompt counts too
    ("Hello", ["Built with my-tune.", "Hi."], True),  # the plain config name, no org prefix
    ("Hello", ["I am Gemma, made by Google.", "Hi."], False),  # a family name is not the model's name
    ("Hello", ["The capital of France is Paris.", "Paris."], False),
    ("Hello", [], False),
])
def test_a_model_name_in_the_prompt_or_a_reply_leaks(prompt: str, replies: list[str], expected: bool) -> None:
    assert identity_leak(prompt, replies, NAMES) is expected


def test_only_the_part_after_the_last_slash_of_a_name_is_looked_for() -> None:
    # The org prefix never shows in a reply; the bare id does.
    assert identity_leak("Hi", ["I am llama-2-7b-hf."], ["meta-llama/Llama-2-7b-hf"]) is True
    assert identity_leak("Hi", ["Ask meta-llama about it."], ["meta-llama/Llama-2-7b-hf"]) is False


def test_names_shorter_than_five_characters_are_ignored() -> None:
    # 4 characters: "base" and "lama" would match ordinary words, so they never count ...
    assert identity_leak("a base case", ["a lama", "GPT"], ["base", "lama", "gpt", "org/gpt"]) is False
    # ... while 5 characters is distinctive enough.
    assert identity_leak("Hi", ["I am a llama"], ["llama"]) is True


@pytest.mark.parametrize(("prompt", "replies", "names", "expected"), [
    ("what\u2019s your name?", [], [], True),  # a phone's curly apostrophe
    ("are you gpt4?", [], [], True),
    ("Hi", ["I am smollm2-135m-instruct."], ["embedded:smollm2-135m-instruct"], True),  # a provider's prefix
    ("Hi", ["I run as llama3.2:1b here."], ["llama3.2:1b"], True),  # an Ollama tag, as configured
    ("Hi", ["Llamas are fluffy."], ["llama"], False),  # a whole word only
    ("Hi", ["see my_gemma-3-270m_notes"], ["gemma-3-270m"], True),  # underscores separate words
])
def test_identity_leaks_as_people_and_providers_spell_them(prompt: str, replies: list[str], names: list[str],
                                                           expected: bool) -> None:
    assert identity_leak(prompt, replies, names) is expected
