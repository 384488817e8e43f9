"""Deletions found by polling (issue 17): a post trashed in WordPress leaves the feed and
its permalink answers 404/410, or (behind a page cache) its REST JSON says so.

A small blog served by a real HTTP server on 127.0.0.1 (tests/blogserver.py): a home
page with a representative h-card, an RSS feed (with an ETag, as WordPress sends, so an
unchanged feed answers 304), and one complete h-entry page per post, so reading a post is
one request to its permalink (and one to its REST JSON where the page links it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app, new_http_session
from bridge.as2.vocab import AS2_CONTENT_TYPE
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.jobs.kinds import Publish
from bridge.models import BlogPost, Job, PostState
from bridge.publish import polling
from bridge.publish.fanout import build_activity
from bridge.publish.polling import REREAD_SECONDS, PollReport, poll_blog
from bridge.publish.record import Change, publish_now

from .blogserver import WORDPRESS, BlogServer
from .wpblog import WordPressBlog

BASE = "http://127.0.0.1:8765/"
FEED = f"{BASE}feed/"
ACTOR = "https://bridge.example/users/blog"
T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)  # the first poll; the posts are from May 2024
# What WordPress 6.1 answered an anonymous reader for a draft's REST URL (recorded).
REST_FORBIDDEN = (WORDPRESS / "core-endpoints" / "rest-post-12-draft.json").read_bytes()
HTML = {"Content-Type": "text/html; charset=UTF-8"}
JSON = {"Content-Type": "application/json; charset=UTF-8"}


def published(n: int) -> datetime:
    return datetime(2024, 5, n, 12, 0, tzinfo=UTC)


def permalink(n: int) -> str:
    return f"{BASE}2024/05/{n:02d}/post-{n}/"


def rest_url(n: int) -> str:
    return f"{BASE}wp-json/wp/v2/posts/{n}"


def path(n: int) -> str:
    return f"/2024/05/{n:02d}/post-{n}/"


def page(n: int) -> bytes:
    return f"""<!doctype html><html lang="en"><head><title>Post {n}</title></head><body>
<article class="h-entry"><h1 class="p-name">Post {n}</h1>
<a class="u-url" href="{permalink(n)}"><time class="dt-published" datetime="{published(n).isoformat()}">May {n}</time></a>
<span class="p-author h-card"><a class="u-url p-name" href="{BASE}">Maya</a>
<img class="u-photo" src="{BASE}avatar.png" alt=""></span>
<div class="e-content"><p>Post number {n}.</p></div></article></body></html>""".encode()


def rest_post(n: int, status: str = "publish") -> bytes:
    stamp = published(n).strftime("%Y-%m-%dT%H:%M:%S")
    return json.dumps({
        "id": n, "link": permalink(n), "status": status, "type": "post", "date": stamp, "date_gmt": stamp,
        "title": {"rendered": f"Post {n}"}, "content": {"rendered": f"<p>Post number {n}.</p>", "protected": False},
    }).encode()


HOME = f"""<!doctype html><html lang="en"><head><title>Maya's notes</title>
<link rel="alternate" type="application/rss+xml" href="{FEED}"></head><body>
<div class="h-card"><a class="u-url u-uid p-name" href="{BASE}">Maya</a>
<img class="u-photo" src="{BASE}avatar.png" alt=""></div></body></html>""".encode()


@dataclass
class Site:
    """The blog: which posts its feed lists, and what each URL answers."""

    server: BlogServer
    listed: list[int] = field(default_factory=list)

    def list(self, *posts: int, etag: bool = True) -> None:
        """The feed lists these posts (newest first); a new ETag when it changes (without
        `etag`, none: every poll reads it in full)."""
        self.listed = sorted(posts, reverse=True)
        items = "".join(
            f"<item><title>Post {n}</title><link>{permalink(n)}</link><guid>{permalink(n)}</guid>"
            f"<pubDate>{format_datetime(published(n))}</pubDate><description>Post number {n}.</description></item>"
            for n in self.listed)
        body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Maya\'s notes</title>'
                f"<link>{BASE}</link><description>Notes</description>{items}</channel></rss>").encode()
        headers = {"Content-Type": "application/rss+xml; charset=UTF-8"}
        if etag:
            headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.server.add(FEED, body, headers)

    def post(self, n: int, *, status: int = 200, rest: tuple[int, bytes] | None = None) -> None:
        """Post n's permalink answers `status`; with `rest`, the page links its REST JSON,
        which answers (status, body)."""
        headers = dict(HTML)
        if rest is not None:
            headers["Link"] = f'<{rest_url(n)}>; rel="alternate"; type="application/json"'
            self.server.add(rest_url(n), rest[1], JSON, status=rest[0])
        self.server.add(permalink(n), page(n) if status == 200 else b"gone", headers, status=status)

    def reads(self, n: int) -> int:
        """How many times post n's permalink was requested."""
        return self.server.paths().count(path(n))


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    server = BlogServer(routes={})
    server.add(BASE, HOME, HTML)
    made = Site(server)
    for n in range(1, 8):
        made.post(n)
    await server.start()
    try:
        yield made
    finally:
        await server.stop()


@pytest.fixture
async def polled(write_config: Callable[..., Path], database: Config) -> Config:
    return load_config(write_config(blog_url=BASE, name="blog.toml"), env={})


async def poll(config: Config, site: Site, at: datetime) -> PollReport:
    site.server.requests.clear()
    async with new_http_session(config) as session:
        report = await poll_blog(session, config.blogs[0], clock=lambda: at)
    assert report.error is None, report.error
    return report


def changes(report: PollReport) -> dict[str, tuple[Change, str]]:
    return {url: (change, detail) for change, url, detail in report.changes}


def checked(report: PollReport) -> list[tuple[Change, str]]:
    """The missing posts this poll checked, in order (they come after the feed's items)."""
    return [(change, url) for change, url, _detail in report.changes[len(report.changes) - report.missing:]]


async def five_posts(polled: Config, site: Site) -> None:
    """Posts 1 and 2 were there before the bridge; 3, 4 and 5 came after (announced)."""
    site.list(1, 2)
    await poll(polled, site, T0)
    site.list(1, 2, 3, 4, 5)
    report = await poll(polled, site, T0 + timedelta(minutes=10))
    assert {url: c for url, (c, _d) in changes(report).items() if c is Change.NEW} == {
        permalink(n): Change.NEW for n in (3, 4, 5)}
    assert len(await publish_jobs("new")) == 3


async def publish_jobs(change: str) -> list[Job]:
    return [job for job in await Job.filter(kind=Publish.KIND).order_by("id") if job.payload["change"] == change]


async def row(n: int) -> BlogPost:
    return await BlogPost.get(blog="blog", url=permalink(n))


async def assert_deleted(config: Config, n: int) -> None:
    """Post n is gone, its Delete queued, and the bridge answers 410 for it (last: the
    app closes the database when it stops)."""
    gone = await row(n)
    assert gone.state is PostState.GONE and gone.gone_at is not None
    assert [job.payload for job in await publish_jobs("gone")] == [{"blog": "blog", "post": gone.id, "change": "gone"}]
    object_id = urls.post_object_id(ACTOR, gone.id)
    delete = await build_activity(config, config.blogs[0], gone, "gone")
    assert delete is not None and delete["type"] == "Delete" and delete["object"]["id"] == object_id
    headers = {"Accept": AS2_CONTENT_TYPE}
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        resp = await client.get(f"/users/blog/posts/{gone.id}", headers=headers)
        tomb = json.loads(await resp.text())
        lookup = await client.get("/users/blog/posts", params={"url": permalink(n)}, headers=headers)
        outbox = json.loads(await (await client.get("/users/blog/outbox", headers=headers)).text())
    assert resp.status == 410 and tomb["type"] == "Tombstone" and tomb["id"] == object_id
    assert lookup.status == 410
    assert outbox["totalItems"] == 4


async def test_a_post_trashed_from_the_middle_of_the_feed_is_deleted(polled: Config, site: Site) -> None:
    await five_posts(polled, site)
    site.list(1, 2, 4, 5)
    site.post(3, status=410)
    report = await poll(polled, site, T0 + timedelta(minutes=20))
    assert changes(report)[permalink(3)] == (Change.GONE, "HTTP 410")
    assert report.count(Change.GONE) == 1 and report.missing == 1
    assert "4 feed items, 1 missing from it checked: 4 unchanged, 1 gone" in report.summary()
    assert site.reads(3) == 1 and [site.reads(n) for n in (1, 2, 4, 5)] == [0, 0, 0, 0]
    await assert_deleted(polled, 3)


async def test_the_newest_post_deleted_for_good_is_deleted(polled: Config, site: Site) -> None:
    await five_posts(polled, site)
    site.list(1, 2, 3, 4)
    site.post(5, status=404)
    report = await poll(polled, site, T0 + timedelta(minutes=20))
    assert changes(report)[permalink(5)] == (Change.GONE, "HTTP 404")
    # Gone, it is not checked again.
    report = await poll(polled, site, T0 + timedelta(days=2))
    assert permalink(5) not in changes(report) and site.reads(5) == 0
    await assert_deleted(polled, 5)


async def test_a_post_that_scrolled_out_of_the_feed_is_not_checked(polled: Config, site: Site) -> None:
    await five_posts(polled, site)
    site.list(2, 3, 4, 5, 6)  # a new post; the oldest scrolls out (its page still answers)
    report = await poll(polled, site, T0 + timedelta(minutes=20))
    assert changes(report)[permalink(6)][0] is Change.NEW and permalink(1) not in changes(report)
    assert report.missing == 0 and site.reads(1) == 0
    oldest = await row(1)
    assert oldest.state is PostState.LIVE and oldest.missing_since is None
    # Not even days later, when the feed is read in full and every listed post read again.
    site.list(2, 3, 4, 5, 6, etag=False)
    report = await poll(polled, site, T0 + timedelta(days=2))
    assert not report.not_modified and report.missing == 0
    assert site.reads(1) == 0 and site.reads(2) == 1


async def test_a_post_excluded_from_the_feed_is_checked_once_then_every_reread_interval(
    polled: Config, site: Site
) -> None:
    await five_posts(polled, site)
    site.list(1, 2, 4, 5)  # post 3 left the feed but its page still answers
    first = T0 + timedelta(hours=1, minutes=7)  # off a FULL_READ_SECONDS boundary, like `later` below
    report = await poll(polled, site, first)
    assert changes(report)[permalink(3)][0] is Change.UNCHANGED and report.missing == 1
    assert site.reads(3) == 1
    checked = await row(3)
    assert checked.state is PostState.LIVE and checked.missing_since == first and checked.fetched_at == first
    assert await publish_jobs("gone") == []

    # The feed has not changed (304, within the same FULL_READ_SECONDS slot): still missing,
    # and read minutes ago: not read again.
    report = await poll(polled, site, first + timedelta(minutes=5))
    assert report.not_modified and report.missing == 0 and site.reads(3) == 0
    # Read in full in a later slot: still missing, not due yet, not read again.
    report = await poll(polled, site, first + timedelta(seconds=REREAD_SECONDS - 60))
    assert not report.not_modified and report.missing == 0 and site.reads(3) == 0

    # After REREAD_SECONDS it is checked again, even with the feed unchanged (304: same slot).
    later = first + timedelta(seconds=REREAD_SECONDS + 1)
    report = await poll(polled, site, later)
    assert report.not_modified and changes(report) == {permalink(3): (Change.UNCHANGED, "Post 3")}
    assert site.reads(3) == 1
    checked = await row(3)
    assert checked.missing_since == first and checked.fetched_at == later

    # Listed again: no longer missing.
    site.list(1, 2, 3, 4, 5)
    report = await poll(polled, site, later + timedelta(minutes=5))
    assert report.missing == 0 and (await row(3)).missing_since is None
    assert await BlogPost.filter(missing_since__isnull=False).count() == 0


async def test_missing_posts_are_checked_a_few_per_poll_newest_first(
    polled: Config, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "MISSING_CHECKS", 2)
    site.list(1, 2, 3, 4, 5, 6, 7)
    await poll(polled, site, T0)
    site.list(1, 7)  # five posts left the feed, with the oldest still listed
    site.post(6, status=500)  # one cannot be read now
    report = await poll(polled, site, T0 + timedelta(hours=1))
    assert checked(report) == [(Change.FAILED, permalink(6)), (Change.UNCHANGED, permalink(5))]
    assert [site.reads(n) for n in (2, 3, 4, 5, 6)] == [0, 0, 0, 1, 1]
    assert (await row(6)).missing_since is None  # not told yet: checked again next poll
    # More left to check: the feed's validators were dropped, so it is read in full (no 304).
    report = await poll(polled, site, T0 + timedelta(hours=2))
    assert not report.not_modified
    assert checked(report) == [(Change.FAILED, permalink(6)), (Change.UNCHANGED, permalink(4))]
    site.post(6)
    report = await poll(polled, site, T0 + timedelta(hours=3))
    assert checked(report) == [(Change.UNCHANGED, permalink(6)), (Change.UNCHANGED, permalink(3))]
    assert (await row(6)).missing_since == T0 + timedelta(hours=3)
    report = await poll(polled, site, T0 + timedelta(hours=4))
    assert checked(report) == [(Change.UNCHANGED, permalink(2))]
    # All told: the feed's validators are kept again (a poll in the same slot gets a 304), and nothing is due.
    report = await poll(polled, site, T0 + timedelta(hours=4, minutes=5))
    assert report.not_modified and report.changes == []
    assert [site.reads(n) for n in range(1, 8)] == [0] * 7
    assert await BlogPost.filter(state=PostState.LIVE).count() == 7


def wp_error(code: str, message: str, status: int) -> tuple[int, bytes]:
    return status, json.dumps({"code": code, "message": message, "data": {"status": status}}).encode()


REST_CASES = {
    "rest_forbidden": ((401, REST_FORBIDDEN), "wp-rest rest_forbidden"),
    "rest_post_invalid_id": (wp_error("rest_post_invalid_id", "Invalid post ID.", 404), "wp-rest rest_post_invalid_id"),
    "trash": ((200, rest_post(3, "trash")), "wp-rest status trash"),
    # A plugin that closes the REST API to anonymous readers: says nothing about the post.
    "rest_cannot_access": (wp_error("rest_cannot_access", "Only authenticated users can access the REST API.", 401),
                           None),
    "published": ((200, rest_post(3)), None),
}


@pytest.mark.parametrize("case", REST_CASES)
async def test_a_cached_page_of_a_trashed_post_is_deleted_on_its_rest_json(
    polled: Config, site: Site, case: str
) -> None:
    rest, reason = REST_CASES[case]
    site.post(3, rest=(200, rest_post(3)))
    await five_posts(polled, site)
    site.list(1, 2, 4, 5)
    site.post(3, rest=rest)  # the page cache still serves it
    report = await poll(polled, site, T0 + timedelta(minutes=20))
    assert site.reads(3) == 1 and rest_url(3).removeprefix(BASE[:-1]) in site.server.paths()
    if reason is None:
        assert changes(report)[permalink(3)] == (Change.UNCHANGED, "Post 3")
        assert (await row(3)).state is PostState.LIVE
        assert await publish_jobs("gone") == []
    else:
        assert changes(report)[permalink(3)] == (Change.GONE, reason)
        await assert_deleted(polled, 3)


async def test_without_a_rest_link_a_page_that_answers_is_never_deleted(polled: Config, site: Site) -> None:
    await five_posts(polled, site)
    site.list(1, 2, 4, 5)
    site.server.add(rest_url(3), REST_FORBIDDEN, JSON, status=401)  # there, but the page does not link it
    report = await poll(polled, site, T0 + timedelta(minutes=20))
    assert changes(report)[permalink(3)] == (Change.UNCHANGED, "Post 3")
    assert (await row(3)).state is PostState.LIVE
    assert rest_url(3).removeprefix(BASE[:-1]) not in site.server.paths()


async def test_a_listed_post_read_again_is_deleted_on_its_rest_json(polled: Config, site: Site) -> None:
    """A cached feed still lists it too: the periodic re-read of a listed post asks the REST API."""
    await five_posts(polled, site)
    site.post(4, rest=(401, REST_FORBIDDEN))
    site.list(1, 2, 3, 4, 5, etag=False)  # a feed read in full (an unchanged one answers 304: nothing is read)
    report = await poll(polled, site, T0 + timedelta(seconds=REREAD_SECONDS + 1200))
    assert changes(report)[permalink(4)] == (Change.GONE, "wp-rest rest_forbidden")
    assert report.missing == 0
    await assert_deleted(polled, 4)


async def test_publish_now_deletes_a_cached_page_of_a_trashed_post(polled: Config, site: Site) -> None:
    await five_posts(polled, site)
    site.post(4, rest=(401, REST_FORBIDDEN))
    site.post(7, rest=(401, REST_FORBIDDEN))  # never recorded: nothing to delete, and nothing recorded
    async with new_http_session(polled) as session:
        assert await publish_now(session, polled.blogs[0], permalink(4)) is Change.GONE
        assert await publish_now(session, polled.blogs[0], permalink(7)) is Change.UNCHANGED
    assert not await BlogPost.exists(url=permalink(7))
    await assert_deleted(polled, 4)


def test_the_summary_of_a_poll_counts_missing_posts_apart() -> None:
    report = PollReport(blog="blog", not_modified=True, missing=1,
                        changes=[(Change.GONE, permalink(3), "HTTP 410")])
    assert report.summary() == "blog: feed not modified since the last poll, 1 missing from it checked: 1 gone"
    assert PollReport(blog="blog", not_modified=True).summary() == "blog: feed not modified since the last poll"


@pytest.mark.parametrize(("last", "now", "conditional"), [
    (None, T0, False),  # the first poll
    (T0, T0 + timedelta(minutes=5), True),  # the same FULL_READ_SECONDS slot
    (T0 + timedelta(minutes=14), T0 + timedelta(minutes=15), False),  # the next slot: in full
    (T0, T0 + timedelta(hours=1), False),  # polls further apart than a slot: always in full
])
def test_the_feed_is_read_in_full_once_a_slot(last: datetime | None, now: datetime, conditional: bool) -> None:
    assert polling.FULL_READ_SECONDS == 900
    assert polling.conditional_read(last, now) is conditional


async def test_an_older_post_trashed_in_wordpress_is_found_though_the_feed_answers_304(
    write_config: Callable[..., Path], database: Config,
) -> None:
    """WordPress's feed validators follow the newest change among published posts: trashing
    an older one leaves them as they were, so a conditional read answers 304 (tests/wpblog.py
    does as WordPress does). The next slot's full read finds it."""
    wp = await WordPressBlog().start()
    try:
        config = load_config(write_config(blog_url=wp.url, name="wp.toml"), env={})
        posts = [wp.add_post(slug=f"p{n}", title=f"Post {n}", content_html=f"<p>{n}</p>", published=published(n))
                 for n in (1, 2, 3)]
        async with new_http_session(config) as session:
            async def poll_wp(at: datetime) -> PollReport:
                return await poll_blog(session, config.blogs[0], clock=lambda: at)
            assert (await poll_wp(T0)).count(Change.NEW) == 3
            wp.trash(posts[1].id)
            report = await poll_wp(T0 + timedelta(minutes=5))
            assert report.not_modified and report.changes == []  # WordPress's 304: nothing to see yet
            report = await poll_wp(T0 + timedelta(minutes=15))
            assert not report.not_modified
            assert changes(report)[posts[1].permalink] == (Change.GONE, "HTTP 404")
        assert [r.state for r in await BlogPost.all().order_by("published")] == [
            PostState.LIVE, PostState.GONE, PostState.LIVE]
    finally:
        await wp.stop()
