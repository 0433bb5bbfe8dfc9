"""The request id (a comparison's id) that every log line written while serving it carries."""

from __future__ import annotations

import contextvars

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
