"""The web front end without a browser: signing, CSRF, the admin gate, escaping Markdown, the arena surface on
the chat flow, and the HTTP rules (CSRF on POSTs, 401 on admin, identity header, per-address limit)."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.bootstrap import parse_settings
from adapters.flow import ChatFlow
from adapters.web import markdown, views
from adapters.web.app import build_web_app
from adapters.web.security import AdminGate, Signer, visitor_from_header
from adapters.web.surface import WebSurface
from bot.domain import Choice, Place, Status
from bot.ratelimit import RateLimiter
from bot.service import ArenaService
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup

SECRET_ENV = {"FTARENA_WEB__COOKIE_SECRET": "unit-secret", "FTARENA_WEB__ADMIN_TOKEN": "admin-token"}


def test_signatures_hold_their_value_and_purpose() -> None:
    signer = Signer(b"secret")
    signed = signer.sign("visitor", "abc")
    assert signer.unsign("visitor", signed) == "abc"
    assert signer.unsign("visitor", signed.replace("abc", "abd")) is None
    assert signer.unsign("admin", signed) is None, "a signature for one purpose is no good for another"
    assert Signer(b"other").unsign("visitor", signed) is None
    assert signer.unsign("visitor", "") is None and signer.unsign("visitor", "no-dot") is None


def test_csrf_token_is_bound_to_the_visitor() -> None:
    signer = Signer(b"secret")
    token = signer.csrf_token("alice")
    assert signer.csrf_ok("alice", token)
    assert not signer.csrf_ok("bob", token) and not signer.csrf_ok("alice", "") and not signer.csrf_ok("alice", "x")


def test_admin_gate_token_sessions_and_rotation() -> None:
    signer = Signer(b"secret")
    assert not AdminGate("", signer).enabled and not AdminGate("", signer).token_ok("")
    gate = AdminGate("s3cret", signer)
    assert gate.token_ok("s3cret") and not gate.token_ok("s3cre") and not gate.token_ok("")
    session = gate.session(now=1000.0)
    assert gate.session_ok(session, now=1001.0)
    assert not gate.session_ok(session, now=1000.0 + 9 * 3600), "sessions expire"
    assert not AdminGate("rotated", signer).session_ok(session, now=1001.0), "a new token ends old sessions"


def test_identity_header_values_are_printable_and_short() -> None:
    assert visitor_from_header("  alice@example.org ") == "alice@example.org"
    assert visitor_from_header("a\x00b\nc") == "abc"
    assert visitor_from_header("x" * 500) == "x" * 64
    assert visitor_from_header(" \t") is None


@pytest.mark.parametrize("text, expected", [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ('<img src=x onerror="a()">', "<p>&lt;img src=x onerror=&quot;a()&quot;&gt;</p>"),
    ("**bold** and *it* and `a*b*c`", "<p><strong>bold</strong> and <em>it</em> and <code>a*b*c</code></p>"),
    ("```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>"),
    ("# Title\n- one\n- two", "<h3>Title</h3>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    ("line one\nline two\n\nnext", "<p>line one<br>line two</p>\n<p>next</p>"),
])
def test_markdown_escapes_first_then_adds_only_its_own_tags(text: str, expected: str) -> None:
    assert markdown.to_html(text) == expected


def make_service(limit: int = 0) -> ArenaService:
    m = matchup()
    providers = {"base-m": ScriptedProvider(["base", " <b>rambles</b>"]), "tuned-m": ScriptedProvider(["tuned"])}
    return ArenaService({m.name: m}, providers, InMemoryRepository(), rng=random.Random(3),
                        rate_limiter=RateLimiter(limit, 60) if limit else None)


async def test_web_surface_streams_the_flow_and_keeps_the_sides_blind() -> None:
    service = make_service()
    surface = WebSurface("web:v1", Place("web", "arena"))
    result = await ChatFlow(service).compare(surface, "Hello")
    assert result is not None
    events = [surface.events.get_nowait() for _ in range(surface.events.qsize())]
    assert events[0] == {"event": "started"}
    shown = [e["comparison"] for e in events[1:]]
    assert {e["event"] for e in events[1:]} == {"comparison"} and shown[-1]["status"] == Status.DONE.value
    assert all(s["a"]["label"] == "A" and s["b"]["label"] == "B" for s in shown), "no model names before the vote"
    assert "base-m" not in json.dumps(shown) and "tuned-m" not in json.dumps(shown)
    assert all(s["a"]["html"] is None for s in shown[:-1]), "HTML only once the replies are final"
    final = shown[-1]["a"]["html"] + shown[-1]["b"]["html"]
    assert "&lt;b&gt;rambles&lt;/b&gt;" in final and "<b>" not in final

    voted = WebSurface("web:v1", Place("web", "arena"))
    reveal = await ChatFlow(service).vote(voted, result.id, Choice.A)
    assert reveal is not None and voted.reveal is reveal
    names = [voted.events.get_nowait()["event"] for _ in range(voted.events.qsize())]
    assert names == ["started", "reveal", "votes"]


def test_battle_json_shows_voters_only_as_pseudonyms() -> None:
    from bot.domain import Comparison, Side, Vote
    from bot.export import pseudonym

    now = datetime(2026, 12, 1, tzinfo=UTC)
    c = Comparison(id="c1", prompt="p", matchup="m", model_a="x", model_b="y", base_side=Side.A, blind=True,
                   requester="discord:42", place=Place("discord", "ch", "g"), created_at=now, status=Status.DONE)
    shown = json.dumps(views.battle_json(c, "salt", [Vote("c1", "slack:U9", Choice.B, now, now)]))
    assert "discord:42" not in shown and "slack:U9" not in shown
    assert pseudonym("slack:U9", "salt") in shown and pseudonym("discord:42", "salt") in shown


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    settings = parse_settings({"database": {"url": "sqlite://"}, "arena": {"default_matchup": "pair"},
                               "models": {"a": {"provider": "echo", "model": "a"},
                                          "b": {"provider": "echo", "model": "b"}},
                               "matchups": {"pair": {"base": "a", "finetuned": "b"}},
                               "web": {"identity_header": "X-Forwarded-User"}}, {})
    service = make_service(limit=1)
    async with TestClient(TestServer(build_web_app(service, settings, SECRET_ENV)),
                          cookie_jar=aiohttp.CookieJar(unsafe=True)) as test_client:
        yield test_client


async def _csrf(client: TestClient, **kwargs: object) -> str:  # type: ignore[type-arg]
    page = await (await client.get("/arena", **kwargs)).text()  # type: ignore[arg-type]
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page)
    assert found is not None
    return found[1]


async def test_posts_need_the_csrf_token_of_this_visitor(client: TestClient) -> None:  # type: ignore[type-arg]
    first = await client.get("/")
    cookie = first.cookies["ftarena_visitor"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert (await client.post("/arena/vote", json={"comparison_id": "x", "choice": "a"})).status == 403
    forged = Signer(b"unit-secret").csrf_token("someone-else")
    assert (await client.post("/arena/vote", json={}, headers={"X-CSRF-Token": forged})).status == 403
    token = await _csrf(client)
    refused = await client.post("/arena/vote", json={"comparison_id": "ab", "choice": "a"},
                                headers={"X-CSRF-Token": token})
    assert refused.status == 400 and "No comparison" in (await refused.json())["refused"]


async def test_admin_answers_401_without_the_token(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/admin")).status == 401
    assert (await client.get("/admin/export/jsonl")).status == 401
    assert (await client.get("/admin/export/jsonl", headers={"Authorization": "Bearer wrong"})).status == 401
    ok = await client.get("/admin/export/jsonl", headers={"Authorization": "Bearer admin-token"})
    assert ok.status == 200 and "attachment" in ok.headers["Content-Disposition"]


async def test_identity_header_names_the_voter_and_the_arena_limits_each_visitor(
        client: TestClient) -> None:  # type: ignore[type-arg]
    user = {"X-Forwarded-User": "alice"}
    token = await _csrf(client, headers=user)
    streamed = await client.post("/arena/compare", json={"prompt": "hi"}, headers={**user, "X-CSRF-Token": token})
    body = await streamed.text()
    assert streamed.headers["Content-Type"].startswith("text/event-stream") and "event: end" in body
    comparison_id = re.search(r'"id": "([0-9a-f]+)"', body)
    assert comparison_id is not None
    voted = await client.post("/arena/vote", json={"comparison_id": comparison_id[1], "choice": "b"},
                              headers={**user, "X-CSRF-Token": token})
    assert voted.status == 200 and (await voted.json())["reveal"]["choice"] == "b"
    again = await client.post("/arena/compare", json={"prompt": "hi"}, headers={**user, "X-CSRF-Token": token})
    assert "comparing too often" in await again.text(), "the service's per-member limit (1 here) holds"
    other = await _csrf(client, headers={"X-Forwarded-User": "bob"})
    assert other != token, "CSRF tokens are bound to the login"


async def test_the_arena_limits_each_address_whatever_cookie_it_sends(tmp_path: Path) -> None:
    settings = parse_settings({"database": {"url": "sqlite://"}, "arena": {"default_matchup": "pair", "rate_limit": 1},
                               "models": {"a": {"provider": "echo", "model": "a"},
                                          "b": {"provider": "echo", "model": "b"}},
                               "matchups": {"pair": {"base": "a", "finetuned": "b"}}}, {})
    async with TestClient(TestServer(build_web_app(make_service(), settings, SECRET_ENV)),
                          cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        statuses = []
        for _ in range(5):
            client.session.cookie_jar.clear()  # a fresh visitor each time: new cookie, new CSRF token
            token = await _csrf(client)
            answer = await client.post("/arena/compare", json={"prompt": "hi"}, headers={"X-CSRF-Token": token})
            statuses.append(answer.status)
        assert statuses == [200, 200, 200, 200, 429]


async def test_boards_serve_the_stale_board_while_one_refresh_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.web.boards import Boards
    from bot.statistics.slices import BattleQuery

    monkeypatch.setattr("adapters.web.boards.REPORT_CACHE_S", 0.0)
    monkeypatch.setattr("bot.reports.REPORT_CACHE_S", 0.0)
    service = make_service()
    fits = []
    original = service.report

    async def counted(query: BattleQuery | None = None, **kwargs: object) -> object:
        fits.append(query)
        return await original(query)

    monkeypatch.setattr(service, "report", counted)
    boards = Boards(service, lambda report, tallies: f"{report.leaderboard.battles} votes")
    first = await boards.get(BattleQuery())
    assert fits == [BattleQuery()] and first.html == "0 votes" and b'"battles": 0' in first.json
    comparison = await service.compare("hi", "v", Place("web"))
    await service.vote(comparison.id, "v", "a")
    stale = [await boards.get(BattleQuery()) for _ in range(3)]
    assert all(board is first for board in stale), "answered at once with the board it has"
    async with asyncio.timeout(5):
        while boards._refreshing:
            await asyncio.sleep(0.01)
    assert len(fits) == 2, "one refresh, however many asked meanwhile"
    assert (await boards.get(BattleQuery())).html == "1 votes"


async def test_api_leaderboard_is_the_object_the_cli_prints(client: TestClient) -> None:  # type: ignore[type-arg]
    from adapters.web.app import STATE
    from bot.statistics.report import report_json
    from bot.statistics.slices import BattleQuery

    service = client.server.app[STATE].service
    answer = await client.get("/api/leaderboard?matchup=pair&platform=web&since=2026-11-01")
    query = BattleQuery(matchup="pair", platform="web", since=datetime(2026, 11, 1, tzinfo=UTC))
    found = await answer.json()
    assert found == json.loads(json.dumps(report_json(await service.report(query, verdicts=True))))
    assert found["outliers"]["voters_tested"] == 0 and found["matchups"] == {}
    comparison = await service.compare("hi", "v", Place("web"))
    await service.vote(comparison.id, "v", comparison.finetuned_side.value)
    page = await (await client.get("/?matchup=pair&platform=web")).text()
    assert "pair: win rate 100%, length-controlled " in page and "undecided — about" in page, page
    assert (await client.get("/api/leaderboard?since=yesterday")).status == 400


async def test_a_visitor_who_leaves_stops_the_comparison(client: TestClient) -> None:  # type: ignore[type-arg]
    from adapters.web.app import STATE

    service = client.server.app[STATE].service
    stalled = ScriptedProvider([], stall=True)
    service.providers["base-m"] = stalled
    token = await _csrf(client)
    response = await client.post("/arena/compare", json={"prompt": "hi"}, headers={"X-CSRF-Token": token})
    await response.content.readuntil(b"\n\n")  # started
    await stalled.started.wait()
    response.close()  # the visitor closes the tab
    async with asyncio.timeout(5):
        while not stalled.cancelled:
            await asyncio.sleep(0.02)
    stored = list(service.repository.comparisons.values())
    async with asyncio.timeout(5):
        while stored[0].status is Status.RUNNING:
            await asyncio.sleep(0.02)
            stored = list(service.repository.comparisons.values())
    assert stored[0].status is Status.CANCELLED
