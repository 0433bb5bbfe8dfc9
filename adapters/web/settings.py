"""The ``[web]`` settings section, declared by the web front end (registered in adapters/platforms.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class WebSettings:
    section: ClassVar[str] = "web"

    host: str = "127.0.0.1"
    port: int = 8080
    admin_token_env: str = "FTARENA_WEB__ADMIN_TOKEN"
    # Signs the visitor cookie and the CSRF tokens; unset, a fresh secret per process (visitors start anew).
    cookie_secret_env: str = "FTARENA_WEB__COOKIE_SECRET"
    # Behind a proxy that logs people in: the header carrying the login (trusted as is; empty: cookies).
    identity_header: str = ""
