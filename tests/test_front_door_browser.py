"""The front door in a real browser: Debian's headless Chromium driven by Playwright, against the
real app. A reader opens the bridge, reads (and copies) the handle, types their own handle
into the Follow form and lands on their server's page to confirm the follow, with our actor's
URI in its query; no script of ours is needed for that (the form works without JavaScript).

The bridge is `http://bridge.example` for the browser (Chromium maps the name to the test
server), so the screenshots show a handle as readers see it. Screenshots at laptop and phone
widths go to test-artifacts/, and the laptop one for the README (tests/admin_seed.py `readme_shot`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestServer

from bridge.app import make_app
from bridge.config import load_config
from bridge.core.clock import utcnow
from bridge.models import BlogPost, Follower, FollowState

from .admin_seed import ARTIFACTS, chromium, readme_shot, requires_chromium
from .fedi import Peer
from .test_front_door import mastodon, social

# Skipped on a developer's machine without Debian's chromium; in CI (.ci/run installs it) never.
pytestmark = requires_chromium

BASE = "http://bridge.example"  # what the browser sees (its resolver maps it to the test server)
ACTOR = f"{BASE}/users/blog"
AVATAR = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 80"><rect width="80" height="80" rx="12" '
          b'fill="#5c4ee5"/><text x="40" y="52" font-family="sans-serif" font-size="34" fill="#fff" '
          b'text-anchor="middle">AL</text></svg>')
POSTS = ["Notes on the Analytical Engine", "A table of Bernoulli numbers", "Why the engine weaves algebra",
         "On poetical science", "Letters to Mr Babbage"]


async def seed() -> None:
    now = utcnow()
    for n, title in enumerate(POSTS):
        await BlogPost.create(blog="blog", url=f"https://ada.example/{2026 - n}/{n + 1}/", data={"title": title},
                              sources={}, fingerprint="f" * 64, published=now - timedelta(days=3 * n + 1),
                              fetched_at=now, changed_at=now)
    for n in range(3):
        actor = f"https://social.example/users/reader{n}"
        await Follower.create(blog="blog", actor_uri=actor, inbox=f"{actor}/inbox", state=FollowState.ACCEPTED)
    await Follower.create(blog="blog", actor_uri="https://social.example/users/waiting", inbox="x",
                          state=FollowState.PENDING)


@pytest.fixture
async def world(write_config: Any, free_port: int) -> AsyncIterator[tuple[Peer, int]]:
    """The bridge on `free_port` (as http://bridge.example) and a reader's Mastodon-like server."""
    peer = await social(mastodon)
    peer.serve("/avatar.svg", AVATAR, content_type="image/svg+xml")
    peer.serve("/authorize_interaction", b"<!doctype html><title>Follow?</title><h1>Follow this account?</h1>",
               content_type="text/html")
    extra = (f'display_name = "Ada Lovelace"\nbio = "Notes on engines, numbers and poetical science.\\n'
             f'Posting from my blog since 1843."\navatar = "{peer.url("/avatar.svg")}"\n')
    config = load_config(write_config(extra, base_url=BASE, blog_url="https://ada.example/"), env={})
    server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=free_port)
    await server.start_server()
    try:
        await seed()
        yield peer, free_port
    finally:
        await server.close()
        await peer.close()


@pytest.fixture
async def browser(world: tuple[Peer, int]) -> AsyncIterator[Any]:
    # The clipboard is for secure contexts only: http://bridge.example is made one, as https would be.
    args = [f"--host-resolver-rules=MAP bridge.example:80 127.0.0.1:{world[1]}",
            f"--unsafely-treat-insecure-origin-as-secure={BASE}"]
    async with chromium(*args) as launched:
        yield launched


async def shot(page: Any, name: str, *also: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    for path in also:
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)


async def test_a_reader_follows_from_the_front_door_in_a_real_browser(world: tuple[Peer, int], browser: Any) -> None:
    peer, _port = world
    reader = f"@reader@{urlsplit(peer.base).netloc}"
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=BASE)
    page = await context.new_page()

    # The front door: the blog's name, handle, followers and latest posts linking to the blog.
    await page.goto(f"{BASE}/")
    assert await page.inner_text("h1") == "Ada Lovelace"
    assert await page.inner_text(".handle") == "@blog@bridge.example"
    assert await page.inner_text(".followers") == "3 followers"
    titles = await page.locator("ol.posts a").all_inner_texts()
    assert titles == POSTS
    assert await page.get_attribute("ol.posts a >> nth=0", "href") == "https://ada.example/2026/1/"
    assert await page.evaluate("document.querySelector('img.avatar').naturalWidth") > 0
    await shot(page, "front-door-laptop", readme_shot("front-door.png"))

    # The copy button (shown because JavaScript runs) puts the handle on the clipboard.
    await page.click("button.copy")
    # The label changes once the clipboard has taken it (an await in the page), for 2 s.
    await page.wait_for_function("document.querySelector('button.copy').textContent === 'Copied'")
    assert await page.evaluate("navigator.clipboard.readText()") == "@blog@bridge.example"

    # A handle that is not one: the page says why and keeps the form.
    await page.fill("#account", "not a handle")
    await page.click("form.follow button[type=submit]")
    assert "that is not a handle" in await page.inner_text(".error")
    await shot(page, "front-door-bad-handle")

    # Follow: the reader's own handle, and their server's page to confirm, with our actor's URI.
    await page.fill("#account", reader)
    async with page.expect_navigation(url=f"{peer.base}/authorize_interaction**"):
        await page.click("form.follow button[type=submit]")
    assert parse_qs(urlsplit(page.url).query)["uri"] == [ACTOR]
    assert await page.inner_text("h1") == "Follow this account?"

    # A browser at the actor's id lands on its profile page.
    await page.goto(ACTOR)
    assert page.url == f"{BASE}/@blog"
    await context.close()


async def test_the_front_door_fits_a_phone_and_works_without_javascript(world: tuple[Peer, int], browser: Any) -> None:
    peer, _port = world
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                        java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{BASE}/@blog")
    assert not await page.is_visible("button.copy")  # without JavaScript the handle is plain, selectable text
    assert await page.inner_text(".handle") == "@blog@bridge.example"
    await shot(page, "front-door-phone")
    await page.fill("#account", f"reader@{urlsplit(peer.base).netloc}")
    async with page.expect_navigation(url=f"{peer.base}/authorize_interaction**"):
        await page.click("form.follow button[type=submit]")
    assert parse_qs(urlsplit(page.url).query)["uri"] == [ACTOR]
    await context.close()

    # With JavaScript, nothing is wider than the phone's screen.
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(f"{BASE}/")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert await page.is_visible("button.copy")
    await context.close()
