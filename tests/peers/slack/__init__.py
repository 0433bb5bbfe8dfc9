"""A protocol-faithful fake Slack for end-to-end tests of a real slack-bolt app.

`FakeSlack` serves, on 127.0.0.1 and a random port:

* the Web API under ``/api/{method}`` (form, query-string or JSON arguments, bearer token),
* the upload URLs handed out by ``files.getUploadURLExternal`` (``/upload/v1/{file_id}``),
* ``response_url`` endpoints (``/response/{key}``),
* a Socket Mode websocket (``/socket-mode``) reached through ``apps.connections.open``.

Every Web API call, upload, ``response_url`` post and Socket Mode ack is recorded, and the
``wait_for_*`` coroutines block until a matching record shows up.

The module-level helpers build request bodies exactly as Slack sends them and sign them the
way Slack does, so tests can drive a Bolt app served over HTTP (`post_signed`) or through
Socket Mode (`FakeSlack.send_envelope`).

The package, by concern: ``server`` (FakeSlack: lifecycle, waiting, ``response_url``), ``web_api`` (the
Web API methods, tokens, rate limits, Block Kit limits, uploads), ``socket_mode`` (the websocket, envelopes
and acks), ``payloads`` (the workspace's ids and the payloads Slack sends), ``signing`` (signed HTTP
requests) and ``state`` (the records and waiting on them).
"""

from tests.peers.slack.payloads import (
    APP_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_USER_ID,
    TEAM_ID,
    block_actions_payload,
    form_body,
    interactive_body,
    slash_command_body,
)
from tests.peers.slack.server import FakeSlack
from tests.peers.slack.signing import post_signed, sign_request
from tests.peers.slack.state import ApiCall, ResponseUrlPost, SocketAck, UploadedFile

__all__ = [
    "APP_ID",
    "BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_USER_ID",
    "TEAM_ID",
    "ApiCall",
    "FakeSlack",
    "ResponseUrlPost",
    "SocketAck",
    "UploadedFile",
    "block_actions_payload",
    "form_body",
    "interactive_body",
    "post_signed",
    "sign_request",
    "slash_command_body",
]
