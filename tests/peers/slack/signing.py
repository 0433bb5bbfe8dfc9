"""Requests to a Bolt app served over HTTP, signed the way Slack signs them (or forged)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from aiohttp import ClientSession

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign_request(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


async def post_signed(
    url: str,
    body: bytes | str,
    signing_secret: str,
    content_type: str = FORM_CONTENT_TYPE,
    timestamp: int | None = None,
    forge: bool = False,
) -> tuple[int, str, float]:
    """POST ``body`` signed like Slack (or, with ``forge``, with a wrong secret).

    Returns (HTTP status, response text, elapsed seconds).
    """
    raw = body.encode() if isinstance(body, str) else body
    secret = secrets.token_hex(16) if forge else signing_secret
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign_request(secret, raw, timestamp),
    }
    async with ClientSession() as session:
        started = time.monotonic()
        async with session.post(url, data=raw, headers=headers) as response:
            text = await response.text()
        return response.status, text, time.monotonic() - started
