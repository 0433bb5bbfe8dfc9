"""Every error the core raises, so adapters can turn each known one into a friendly message.

    ArenaError                      base; ``user_message`` is safe to show to a chat member
    ├── InvalidPromptError          empty, too long, or nothing printable
    ├── UnknownComparisonError      no comparison with that id
    ├── UnknownMatchupError         no matchup with that name
    ├── InvalidChoiceError          vote choice not in a / b / tie / bad
    ├── RateLimitedError            a member asked too often; carries ``retry_after``
    ├── AccessRefusedError          the arena is off in this channel, or the member is not on its allow-list
    ├── SettingsError               an /arena-settings change names an unknown key or a bad value
    ├── ConfigError                 bad configuration; names the key
    ├── StorageError                the database failed or is unreachable
    └── ProviderError               a model could not answer
        ├── ProviderTimeoutError    it took longer than the model's timeout
        ├── ProviderAuthError       credentials refused
        │   └── MissingKeyError     no key to send: its environment variable is not set
        ├── ProviderRateLimitError  the model server asked us to slow down
        └── ModelUnavailableError   server down or broken
            └── ModelNotFoundError  the server does not know the model
"""

from __future__ import annotations


class ArenaError(Exception):
    """Base of all errors the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.user_message = message


class InvalidPromptError(ArenaError):
    pass


class UnknownComparisonError(ArenaError):
    def __init__(self, comparison_id: str) -> None:
        # The id may come from a forged button: show it shortened, never as markup.
        shown = comparison_id[:40].encode("ascii", "replace").decode()
        super().__init__(f"No comparison with id {shown!r}.")
        self.comparison_id = comparison_id


class UnknownMatchupError(ArenaError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"No matchup named {name[:60]!r}. Known matchups: {', '.join(known) or 'none'}.")
        self.name = name


class InvalidChoiceError(ArenaError):
    def __init__(self, choice: str) -> None:
        super().__init__(f"Unknown vote {choice[:20]!r}: choose a, b, tie or bad.")


class RateLimitedError(ArenaError):
    def __init__(self, retry_after: float) -> None:
        seconds = max(1, round(retry_after))
        super().__init__(f"You are comparing too often: try again in {seconds} s.")
        self.retry_after = retry_after


class AccessRefusedError(ArenaError):
    pass


class SettingsError(ArenaError):
    pass


class ConfigError(ArenaError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Config error at {key}: {problem}")
        self.key = key


class StorageError(ArenaError):
    pass


class ProviderError(ArenaError):
    """A model failed; ``user_message`` is short and generic, details go to the log."""


class ProviderTimeoutError(ProviderError):
    pass


class ProviderAuthError(ProviderError):
    pass


class MissingKeyError(ProviderAuthError):
    def __init__(self, variable: str) -> None:
        super().__init__(f"The model's key is missing: the environment variable {variable} is not set, so "
                         "nothing was sent.")


class ProviderRateLimitError(ProviderError):
    pass


class ModelUnavailableError(ProviderError):
    pass


class ModelNotFoundError(ModelUnavailableError):
    pass


AUTH_FAILED = "The model server refused our credentials."
RATE_LIMITED = "The model server is rate-limiting us; try again shortly."
NOT_FOUND = "The model was not found on its server."
UNAVAILABLE = "The model is unavailable right now."
