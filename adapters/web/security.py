"""Who a visitor is and what they may do: signed visitor cookies, CSRF tokens bound to the visitor, the admin
token (compared in constant time, never logged) and a per-client limit on arena requests."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping

from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)

VISITOR_COOKIE = "ftarena_visitor"
ADMIN_COOKIE = "ftarena_admin"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
VISITOR_MAX_AGE_S = 365 * 24 * 3600
ADMIN_MAX_AGE_S = 8 * 3600
# Per client address, on top of the per-visitor limit the service applies: a visitor who drops the cookie gets a
# new id, not a new allowance.
CLIENT_FACTOR = 4
MAX_IDENTITY_CHARS = 64


class Signer:
    """HMAC-SHA256 signatures with one per-installation secret; every use has its own purpose word so that a
    signature made for one (a CSRF token) is never accepted for another (a cookie)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def unsign(self, purpose: str, signed: str) -> str | None:
        value, _, _ = signed.rpartition(".")
        if not value or not hmac.compare_digest(self.sign(purpose, value), signed):
            return None
        return value

    def csrf_token(self, visitor: str) -> str:
        return self.sign("csrf", visitor).rpartition(".")[2]

    def csrf_ok(self, visitor: str, token: str) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(visitor), token)


def secret_from(env: Mapping[str, str], variable: str) -> bytes:
    value = env.get(variable, "").strip()
    if value:
        return value.encode()
    log.warning("%s is not set: visitor cookies are signed with a secret of this process only", variable)
    return secrets.token_bytes(32)


def new_visitor_id() -> str:
    return secrets.token_urlsafe(12)


def visitor_from_header(value: str) -> str | None:
    """A login from the operator's proxy header, kept printable and short (it becomes ``web:<login>``)."""
    cleaned = "".join(ch for ch in value.strip() if ch.isprintable())[:MAX_IDENTITY_CHARS]
    return cleaned or None


class AdminGate:
    """The admin token from the environment (no token set: no admin page). The session cookie holds an expiry
    signed with a key derived from the token, so changing the token ends every session."""

    def __init__(self, token: str, signer: Signer) -> None:
        self._token = token
        self._signer = signer

    @property
    def enabled(self) -> bool:
        return bool(self._token)

    def token_ok(self, offered: str) -> bool:
        return self.enabled and hmac.compare_digest(offered.encode(), self._token.encode())

    def session(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + ADMIN_MAX_AGE_S)
        return self._signer.sign(self._purpose(), str(expires))

    def session_ok(self, cookie: str, now: float | None = None) -> bool:
        if not self.enabled or not cookie:
            return False
        expires = self._signer.unsign(self._purpose(), cookie)
        return expires is not None and expires.isdigit() and int(expires) > (now or time.time())

    def _purpose(self) -> str:
        return "admin:" + hashlib.sha256(self._token.encode()).hexdigest()


class ClientLimiter:
    """The arena's per-address limit: ``CLIENT_FACTOR`` times the per-member chat limit, over the same window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self._limiter = RateLimiter(limit * CLIENT_FACTOR, window_s)

    def check(self, client: str) -> None:
        """Raise RateLimitedError when this address asked too often."""
        self._limiter.check(client)

