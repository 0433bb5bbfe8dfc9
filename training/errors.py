"""Every error the training core raises; all are ``ArenaError``s, so a front end shows ``user_message``.

    ArenaError (bot.errors)
    └── TrainingError                 base: a run could not start, finish or be converted
        ├── TrainingUnavailableError  the ``[train]`` extra is not installed, or the parent cannot be loaded
        ├── PreferenceDataError       a row of the preference file is malformed
        ├── NotEnoughPairsError       fewer usable examples than asked for; carries ``have`` and ``need``
        ├── HyperParameterError       a hyper-parameter is out of range; names it
        ├── TrainingFailedError       the worker process failed or was killed; nothing was written
        ├── TrainingBusyError         another run holds the installation's training slot
        └── ConversionError           the adapter cannot be written in llama.cpp's format
"""

from __future__ import annotations

from bot.errors import ArenaError


class TrainingError(ArenaError):
    """Base of the training errors."""


class TrainingUnavailableError(TrainingError):
    pass


class PreferenceDataError(TrainingError):
    pass


class NotEnoughPairsError(TrainingError):
    def __init__(self, have: int, need: int, what: str = "preference pairs") -> None:
        super().__init__(f"Only {have} usable {what} in the votes; training needs at least {need} "
                         f"(vote more, or lower --min-pairs).")
        self.have = have
        self.need = need


class HyperParameterError(TrainingError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"Bad hyper-parameter {name}: {problem}")
        self.name = name


class TrainingFailedError(TrainingError):
    """``user_message`` says why in one line; ``detail`` keeps the worker's last stderr lines for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class ConversionError(TrainingError):
    pass


class TrainingBusyError(TrainingError):
    pass
