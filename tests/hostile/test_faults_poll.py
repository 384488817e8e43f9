"""A blog that is down, slow, or answers garbage during a poll (bridge/publish/polling.py).

The blog is a real local server with a feed and two h-entry posts. After a good first
poll, each fault: the poll reports the error (or a failed item), the stored posts are
exactly as they were (nothing marked gone, nothing published), and once the fault
clears the next poll catches up with what happened meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bridge import db
from bridge.app import new_http_session
from bridge.config import Config, load_config
from bridge.models import BlogPost, BlogState, Job, PostState
from bridge.publish.polling import poll_blog
from bridge.publish.record import Change
from tests.fedi import Peer


def rss(base: str, posts: list[int]) -> bytes:
    items = "".join(f"<item><title>Post {n}</title><link>{base}/p/{n}/</link><guid>{base}/p/{n}/</guid>"
                    f"<pubDate>Mon, 0{n} Jan 2025 10:00:00 +0000</pubDate><description>Text {n}</description></item>"
                    for n in posts)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><link>{base}/</link>'
            f"{items}</channel></rss>").encode()


def page(base: str, n: int) -> bytes:
    return (f'<!doctype html><html lang="en"><title>Post {n}</title><article class="h-entry">'
            f'<h1 class="p-name">Post {n}</h1><time class="dt-published" datetime="2025-01-0{n}T10:00:00+00:00">x</time>'
            f'<div class="e-content"><p>The text of post {n}.</p></div><a class="u-url" href="{base}/p/{n}/">link</a>'
            f"</article></html>").encode()


class Blog:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.base = peer.base
        self.posts = [1, 2]
        self.fault: Callable[[web.Request], Any] | None = None
        for path in ("/", "/feed/", "/p/1/", "/p/2/", "/p/3/"):
            peer.routes[path] = self._answer

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        if self.fault is not None:
            return await self.fault(request)
        if request.path == "/feed/":
            return web.Response(body=rss(self.base, self.posts), content_type="application/rss+xml")
        if request.path.startswith("/p/"):
            n = int(request.path.split("/")[2])
            if n not in self.posts:
                return web.Response(status=404, text="no such post")
            return web.Response(body=page(self.base, n), content_type="text/html")
        return web.Response(body=f'<link rel="alternate" type="application/rss+xml" href="{self.base}/feed/">'.encode(),
                            content_type="text/html")


@pytest.fixture
async def blog() -> AsyncIterator[Blog]:
    peer = await Peer.start()
    try:
        yield Blog(peer)
    finally:
        await peer.close()


@pytest.fixture
async def polled(write_config: Any, blog: Blog) -> AsyncIterator[Config]:
    config = load_config(write_config(f'feed = "{blog.base}/feed/"\n', blog_url=blog.base + "/"), env={})
    await db.migrate(config.database)
    try:
        async with new_http_session(config) as session:
            report = await poll_blog(session, config.blogs[0])  # the first poll records what is there
        assert report.error is None and len(report.changes) == 2
        yield config
    finally:
        await db.close_db()


async def _posts() -> list[tuple[str, str, str]]:
    return [(p.url, p.state.value, p.fingerprint) for p in await BlogPost.all().order_by("url")]


async def _garbage(request: web.Request) -> web.Response:
    return web.Response(body=bytes(range(256)) * 40, content_type="application/rss+xml" if "feed" in request.path
                        else "text/html")


async def _html_junk(request: web.Request) -> web.Response:
    return web.Response(text="<html><h1>Maintenance</h1><p>Back soon</p>", content_type="text/html")


async def _error(request: web.Request) -> web.Response:
    return web.Response(status=500, text="Internal Server Error")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(1.5)  # slow, but inside the fetch timeout: the poll must wait, not fail
    return web.Response(status=503, text="busy")


FAULTS = {"garbage bytes": _garbage, "an HTML maintenance page": _html_junk, "500s": _error, "slow 503s": _slow}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_faulty_blog_changes_no_post_and_the_next_poll_catches_up(polled: Config, blog: Blog, fault: str) -> None:
    before = await _posts()
    jobs = await Job.all().count()
    blog.fault = FAULTS[fault]
    blog.posts = [1, 2, 3]  # a post is published while the blog misbehaves
    async with new_http_session(polled) as session:
        report = await poll_blog(session, polled.blogs[0])
        assert report.error or all(c is Change.FAILED for c, _u, _d in report.changes), report
        assert await _posts() == before  # nothing gone, nothing changed
        assert await Job.all().count() == jobs  # nothing published
        assert (await BlogState.get(name="blog")).last_poll_error or report.changes
        blog.fault = None
        report = await poll_blog(session, polled.blogs[0])
    assert report.error is None and {u: c for c, u, _d in report.changes}[f"{blog.base}/p/3/"] is Change.NEW
    assert [s for _u, s, _f in await _posts()] == [PostState.LIVE.value] * 3


async def test_a_blog_that_goes_down_mid_poll(polled: Config, blog: Blog) -> None:
    """The feed answers, then the server is gone before the pages are read."""
    before = await _posts()
    blog.posts = [1, 2, 3]

    async def feed_then_down(request: web.Request) -> web.StreamResponse:
        if request.path == "/feed/":
            return web.Response(body=rss(blog.base, [1, 2, 3]), content_type="application/rss+xml")
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    blog.fault = feed_then_down
    async with new_http_session(polled) as session:
        report = await poll_blog(session, polled.blogs[0])
    failed = {u for c, u, _d in report.changes if c is Change.FAILED}
    assert f"{blog.base}/p/3/" in failed
    assert await _posts() == before and not await BlogPost.exists(state=PostState.GONE)
