"""Even at -vv, the platform libraries' raw payloads (member ids, message text, interaction tokens) stay out of
our logs (adapters/logs.PAYLOAD_LOGGERS): a forgotten member must not remain there by id."""

from __future__ import annotations

import logging

from adapters.logs import PAYLOAD_LOGGERS, setup_logging


def test_debug_logging_keeps_the_platform_payload_loggers_at_info() -> None:
    root = logging.getLogger()
    saved = root.level, root.handlers[:], {name: logging.getLogger(name).level for name in PAYLOAD_LOGGERS}
    try:
        setup_logging(logging.DEBUG)
        assert root.isEnabledFor(logging.DEBUG)
        assert logging.getLogger("bot.service").isEnabledFor(logging.DEBUG)
        for name in PAYLOAD_LOGGERS:
            assert not logging.getLogger(f"{name}.inner").isEnabledFor(logging.DEBUG), name
            assert logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
