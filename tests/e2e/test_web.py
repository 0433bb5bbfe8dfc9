"""The web front end in a real browser: Debian's Chromium driven by Playwright, the app served on 127.0.0.1 with
echo models on a real SQLite database. Leaderboard with filters and live updates, battles, the blind arena, the
admin page and an XSS corpus fed through a prompt and the reply that echoes it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.bootstrap import open_service
from adapters.web.app import build_web_app
from bot.config import Settings
from bot.domain import Place
from bot.service import ArenaService
from tests.e2e.arena_config import arena_settings

playwright_api = pytest.importorskip("playwright.async_api",
                                     reason="Playwright is a dev dependency: pip install -e '.[dev]'")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOKEN = "test-admin-token-3f9a"
DISCORD = Place("discord", channel="general", server="guild-1")
TIMEOUT_MS = 20_000

XSS_CORPUS = [
    "<script>window.__xss = 1</script>",
    "<img src=x onerror=\"window.__xss = 2\">",
    "<svg onload=alert(3)>",
    "\"><script>alert(4)</script>",
    "'><img src=x onerror=alert(5)>",
    "**bold <img src=x onerror=window.__xss=6>** and `<script>alert(7)</script>`",
    "```\n</code></pre><script>alert(8)</script>\n```",
    "[click](javascript:window.__xss=9)",
    "<iframe src=\"javascript:alert(10)\"></iframe>",
    "# <details open ontoggle=alert(11)>",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="no Chromium: `make test` installs Debian's chromium when run as root")


@dataclass
class Site:
    url: str
    service: ArenaService
    settings: Settings
    tmp: Path


def web_settings(tmp_path: Path) -> Settings:
    settings = arena_settings(tmp_path, delay_s=0.01)
    # Replies that echo the prompt exactly: the XSS corpus reaches the page as the prompt and as both replies.
    return arena_settings(tmp_path, delay_s=0.01, models={
        **{n: _model_spec(m) for n, m in settings.models.items()},
        "mirror-a": {"provider": "echo", "model": "mirror-a", "reply": "{prompt}", "max_tokens": 500},
        "mirror-b": {"provider": "echo", "model": "mirror-b", "reply": "{prompt}", "max_tokens": 500},
    }, matchups={"mirror": {"base": "mirror-a", "finetuned": "mirror-b"}})


def _model_spec(model: Any) -> dict[str, Any]:
    return {"provider": model.provider, "model": model.model, "max_tokens": model.params.max_tokens,
            **model.options}


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    # Live updates in test time: the report cache (10 s in production) and the page's poll follow each other.
    monkeypatch.setattr("bot.reports.REPORT_CACHE_S", 0.5)
    monkeypatch.setattr("adapters.web.boards.REPORT_CACHE_S", 0.5)
    settings = web_settings(tmp_path)
    service = await open_service(settings, rate_limited=True)
    env = {settings.web.admin_token_env: TOKEN, settings.web.cookie_secret_env: "test-cookie-secret"}
    runner = web.AppRunner(build_web_app(service, settings, env))
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield Site(f"http://127.0.0.1:{port}", service, settings, tmp_path)
    finally:
        await runner.cleanup()
        await service.aclose()


@pytest.fixture
async def page(site: Site) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        tab = await context.new_page()
        tab.dialogs = []
        tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
        try:
            yield tab
        finally:
            await browser.close()


async def vote_elsewhere(service: ArenaService, prompt: str, voter: str, choice: str, matchup: str = "pair",
                         place: Place = DISCORD) -> str:
    """A comparison and vote through another front end's path (the service, as Discord's flow calls it)."""
    comparison = await service.compare(prompt, voter, place, matchup)
    await service.vote(comparison.id, voter, choice)
    return comparison.id


async def test_leaderboard_filters_by_url_and_updates_without_reload(site: Site, page: Any) -> None:
    await vote_elsewhere(site.service, "Explain recursion", "discord:1", "a")
    await vote_elsewhere(site.service, "Name three rivers", "discord:2", "b", matchup="hostile")
    await page.goto(site.url + "/")
    standings = page.locator("#standings tbody")
    await playwright_api.expect(standings).to_contain_text("hostile")
    await playwright_api.expect(standings).to_contain_text("tuned-echo")

    await page.select_option("select[name=matchup]", "hostile")
    await page.click("#filters button[type=submit]")
    await page.wait_for_url(re.compile(r"\?matchup=hostile$"))  # empty filters stay out of a shared link
    await playwright_api.expect(standings).to_contain_text("hostile")
    await playwright_api.expect(standings).not_to_contain_text("tuned-echo")
    assert await standings.locator("tr").count() == 2
    await page.screenshot(path=site.tmp / "leaderboard-filtered.png", full_page=True)

    shared = await page.context.new_page()
    await shared.goto(page.url)  # the URL alone carries the view
    await playwright_api.expect(shared.locator("select[name=matchup]")).to_have_value("hostile")

    votes = page.locator("#votes-total")
    await playwright_api.expect(votes).to_have_text("1 vote")
    await page.wait_for_timeout(800)  # the page has polled once, so the next change is news to it
    await vote_elsewhere(site.service, "Name two oceans", "discord:3", "a", matchup="hostile")
    await playwright_api.expect(votes).to_have_text("2 votes", timeout=TIMEOUT_MS)  # no reload
    await page.screenshot(path=site.tmp / "leaderboard-live.png", full_page=True)


async def test_battles_list_filters_and_shows_a_battle_with_pseudonyms_only(site: Site, page: Any) -> None:
    first = await vote_elsewhere(site.service, "Write a haiku about *autumn*", "discord:411", "a")
    await vote_elsewhere(site.service, "What is 2 + 2?", "discord:412", "tie")
    await page.goto(site.url + "/battles")
    rows = page.locator("#battles tbody tr")
    await playwright_api.expect(rows).to_have_count(2)
    await page.fill("input[name=q]", "haiku")
    await page.click("#filters button[type=submit]")
    await page.wait_for_url(re.compile(r"/battles\?q=haiku$"))
    await playwright_api.expect(rows).to_have_count(1)
    await page.select_option("select[name=outcome]", "tie")
    await page.click("#filters button[type=submit]")
    await playwright_api.expect(page.locator("#battles")).to_contain_text("No comparison matches")
    await page.goto(site.url + "/battles?outcome=tie")
    await playwright_api.expect(rows).to_have_count(1)
    await playwright_api.expect(rows).to_contain_text("2 + 2")

    await page.goto(site.url + "/battles?q=haiku")
    await page.click("#battles a")
    await page.wait_for_url(f"**/battles/{first}")
    await playwright_api.expect(page.locator("#prompt")).to_have_text("Write a haiku about *autumn*")
    await playwright_api.expect(page.locator("#reply-a em, #reply-b em").first).to_have_text("autumn")
    votes = page.locator("#votes tbody")
    await playwright_api.expect(votes).to_contain_text("judge_")
    assert "discord:411" not in await page.content()
    # Blind: a visitor who has not voted on it cannot peek at which model wrote which reply.
    await playwright_api.expect(page.locator("#blind-note")).to_be_visible()
    await playwright_api.expect(page.locator("#reply-a h2")).to_have_text("A")
    assert "tuned-echo" not in await page.locator("main").inner_text()
    detail = json.loads(await (await page.request.get(f"{site.url}/api/battles/{first}")).text())
    assert detail["votes"][0]["judge"].startswith("judge_") and "discord:" not in json.dumps(detail)
    assert detail["model_a"] is None and detail["base_side"] is None
    listing = json.loads(await (await page.request.get(f"{site.url}/api/battles?q=haiku")).text())
    assert listing["total"] == 1 and listing["items"][0]["id"] == first
    await page.screenshot(path=site.tmp / "battle.png", full_page=True)


async def test_arena_compares_streams_votes_and_reveals(site: Site, page: Any) -> None:
    await page.goto(site.url + "/arena")
    await page.fill("#prompt", "Give me a tip for *sleeping* well")
    await page.click("#compare")
    buttons = page.locator("#vote-buttons")
    await playwright_api.expect(buttons).to_be_visible()
    await playwright_api.expect(page.locator("#label-a")).to_have_text("A")  # blind until the vote
    await playwright_api.expect(page.locator("#reply-a")).to_contain_text("sleeping")
    await page.click("#vote-buttons button[data-choice=a]")
    reveal = page.locator("#reveal")
    await playwright_api.expect(reveal).to_be_visible()
    await playwright_api.expect(reveal).to_contain_text("Your vote: A is better")
    await playwright_api.expect(reveal).to_contain_text("base-echo")
    await playwright_api.expect(reveal).to_contain_text("tuned-echo")
    await page.screenshot(path=site.tmp / "web-arena.png", full_page=True)

    board = json.loads(await (await page.request.get(f"{site.url}/api/leaderboard?platform=web")).text())
    assert board["battles"] == 1 and board["query"]["platform"] == "web"
    cookie = next(c for c in await page.context.cookies() if c["name"] == "ftarena_visitor")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    voters = [b.vote.voter for b in site.service.repository.iter_battles()]
    assert voters == ["web:" + cookie["value"].rpartition(".")[0]]
    mine = json.loads(await (await page.request.get(f"{site.url}/api/battles?platform=web")).text())["items"][0]
    await page.goto(f"{site.url}/battles/{mine['id']}")  # voted on: the sides are no secret to this visitor
    await playwright_api.expect(page.locator("main")).to_contain_text("tuned-echo (fine-tuned)")


async def test_admin_needs_the_token_and_downloads_dpo(site: Site, page: Any) -> None:
    await vote_elsewhere(site.service, "Summarise the plot of Hamlet", "discord:7", "b")
    response = await page.goto(site.url + "/admin")
    assert response.status == 401
    await playwright_api.expect(page.locator("#downloads")).to_have_count(0)
    assert (await page.request.get(f"{site.url}/admin/export/dpo")).status == 401
    await page.fill("input[name=token]", "not-the-token")
    await page.click("button[type=submit]")
    await playwright_api.expect(page.locator("[role=alert]")).to_have_text("That is not the admin token.")

    await page.fill("input[name=token]", TOKEN)
    await page.click("button[type=submit]")
    await playwright_api.expect(page.locator("#downloads")).to_contain_text("dpo")
    await page.screenshot(path=site.tmp / "admin.png", full_page=True)
    hamlet = json.loads(await (await page.request.get(f"{site.url}/api/battles?q=hamlet")).text())["items"][0]
    assert hamlet["model_a"] in ("base-echo", "tuned-echo"), "the admin sees the sides"
    async with page.expect_download() as waiting:
        await page.click("#downloads a:text-is('dpo')")
    download = await waiting.value
    path = site.tmp / download.suggested_filename
    await download.save_as(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows and rows[0]["prompt"] == "Summarise the plot of Hamlet" and {"chosen", "rejected"} <= set(rows[0])


async def test_xss_corpus_in_prompts_and_replies_never_runs(site: Site, page: Any) -> None:
    await page.add_init_script("window.__xss = undefined")
    await page.goto(site.url + "/arena")
    for payload in XSS_CORPUS:
        await page.fill("#prompt", payload)
        await page.click("#compare")
        await playwright_api.expect(page.locator("#vote-buttons")).to_be_visible()
        await page.click("#vote-buttons button[data-choice=tie]")
        await playwright_api.expect(page.locator("#reveal")).to_be_visible()
        await _nothing_ran(page)
    stored = [b.comparison for b in site.service.repository.iter_battles()]
    assert {c.prompt for c in stored} == {p.strip() for p in XSS_CORPUS}
    for comparison in stored:
        await page.goto(f"{site.url}/battles/{comparison.id}")
        await playwright_api.expect(page.locator("#prompt")).to_have_text(comparison.prompt)
        await _nothing_ran(page)
    for url in ("/battles", "/battles?q=script", "/?matchup=%3Cscript%3Ealert(1)%3C/script%3E", "/"):
        await page.goto(site.url + url)
        await _nothing_ran(page)
    assert page.dialogs == []


async def _nothing_ran(page: Any) -> None:
    assert await page.evaluate("window.__xss") is None
    injected = await page.evaluate(
        "document.querySelectorAll('main script, main iframe, main svg, main [onerror], main [onload], "
        "main [ontoggle], main a[href^=javascript]').length")
    assert injected == 0
    assert page.dialogs == []
