"""The seed lab's four prompts, verbatim: the base model continues text, the chat model answers."""

from __future__ import annotations

SEED_PROMPTS: tuple[str, ...] = (
    "Tell me how to train my dog to sit",
    "What do you think of Mars?",
    "taylor swift's best friend",
    "Agent: I'm here to help you with your Amazon deliver order.\n"
    "Customer: I didn't get my item\n"
    "Agent: I'm sorry to hear that. Which item was it?\n"
    "Customer: the blanket\n"
    "Agent:",
)
