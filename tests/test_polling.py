"""Polling a real (recorded) WordPress blog: new, unchanged, changed, gone; the
first poll; a blog that is down; `bridge poll` and `bridge inspect`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge import cli
from bridge.app import new_http_session
from bridge.config import Config, load_config
from bridge.jobs.kinds import ActorUpdate, Poll, Publish
from bridge.jobs.store import utcnow
from bridge.models import BlogPost, BlogState, Job, PostState
from bridge.publish import reader
from bridge.publish.documents import post_object
from bridge.publish.polling import poll_blog, schedule_polls
from bridge.publish.record import Change, record_post

from .blogserver import BlogServer, published_posts

BLOG = "http://127.0.0.1:8765/"
FEED = "http://127.0.0.1:8765/feed/"
PERMALINKS = sorted(p["permalink"] for p in published_posts())
SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"


@pytest.fixture
async def blog() -> AsyncIterator[BlogServer]:
    server = await BlogServer.wordpress("twentytwentyone").start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def blog_config(write_config) -> Path:  # type: ignore[no-untyped-def]
    return write_config(blog_url=BLOG, name="blog.toml")


@pytest.fixture
async def polled(blog_config: Path, database: Config) -> Config:
    return load_config(blog_config, env={})


def page_reads(server: BlogServer) -> list[str]:
    return [p for p in server.paths() if p.startswith("/2019/")]


async def test_first_poll_records_existing_posts_without_announcing_them(blog: BlogServer, polled: Config) -> None:
    seen: list[tuple[Change, str]] = []
    async with new_http_session(polled) as session:
        report = await poll_blog(session, polled.blogs[0], progress=lambda c, url, _d: seen.append((c, url)))
    assert report.error is None and report.first_poll and report.feed_url == FEED
    assert sorted(url for _c, url in seen) == PERMALINKS
    assert {c for c, _url in seen} == {Change.NEW}
    rows = await BlogPost.all().order_by("url")
    assert [r.url for r in rows] == PERMALINKS
    assert all(r.announce is False and r.state is PostState.LIVE for r in rows)
    seed = next(r for r in rows if r.url == SEED)
    assert seed.data["title"] == "Binge-learning certificates"
    assert seed.data["published"] == "2019-06-12T08:15:00-04:00"
    assert seed.sources["title"] in ("mf1", "wp-rest", "feed")
    state = await BlogState.get(name="blog")
    assert (state.polls, state.feed_url, state.last_poll_error) == (1, FEED, None)
    assert state.feed_etag == '"8c70d1c811ccf0f888401d370f042750"'
    assert "first poll" in report.summary()
    # The profile, for the actor: read on the first poll, kept with its provenance.
    assert state.profile is not None and state.profile_read_at is not None
    assert state.profile["name"] == "Maya Okonkwo"
    assert state.profile["icon"]["url"] == "http://127.0.0.1:8765/wp-content/uploads/2019/05/maya-avatar.png"
    assert state.profile["feed_url"] == FEED and state.profile["sources"]["name"] == "wp-rest"


async def test_profile_overrides_from_the_config_win(blog: BlogServer, write_config, database: Config) -> None:  # type: ignore[no-untyped-def]
    extra = 'display_name = "Maya O."\nbio = "Learning in public."\navatar = "https://cdn.example/maya.png"\n'
    config = load_config(write_config(extra, blog_url=BLOG, name="override.toml"), env={})
    async with new_http_session(config) as session:
        await poll_blog(session, config.blogs[0])
    profile = (await BlogState.get(name="blog")).profile
    assert (profile["name"], profile["summary"], profile["icon"]["url"]) == (
        "Maya O.", "Learning in public.", "https://cdn.example/maya.png"
    )
    assert profile["sources"]["name"] == profile["sources"]["icon"] == "config"


async def test_the_daemon_polls_on_its_own(blog: BlogServer, polled: Config) -> None:
    from aiohttp.test_utils import TestServer

    from bridge.app import make_app

    async with TestServer(make_app(polled)):
        for _ in range(150):
            if await BlogPost.all().count() == len(PERMALINKS):
                break
            await asyncio.sleep(0.1)
    assert sorted(await BlogPost.all().values_list("url", flat=True)) == PERMALINKS
    job = await Job.get(kind=Poll.KIND)
    assert job.state.value == "done" and job.payload == {"blog": "blog"}


async def test_next_poll_uses_the_feed_validators_and_reads_no_page(blog: BlogServer, polled: Config) -> None:
    async with new_http_session(polled) as session:
        await poll_blog(session, polled.blogs[0])
        blog.requests.clear()
        report = await poll_blog(session, polled.blogs[0])
    assert report.not_modified and report.changes == []
    feed_request = next(r for r in blog.requests if r.path_qs == "/feed/")
    assert feed_request.headers["If-None-Match"] == '"8c70d1c811ccf0f888401d370f042750"'
    assert page_reads(blog) == []
    assert (await BlogState.get(name="blog")).polls == 2


async def test_an_edited_post_is_changed_and_the_others_are_not_read_again(blog: BlogServer, polled: Config) -> None:
    async with new_http_session(polled) as session:
        await poll_blog(session, polled.blogs[0])
        before = await BlogPost.get(url=SEED)
        feed_route = blog.routes[("/feed/", ())]
        feed_route.headers = [(k, v) for k, v in feed_route.headers if k.lower() != "etag"]
        feed_route.body = feed_route.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        page = blog.routes[("/2019/06/12/binge-learning-certificates/", ())]
        page.body = page.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        rest = blog.routes[("/wp-json/wp/v2/posts/5", ())]
        rest.body = rest.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        blog.requests.clear()
        report = await poll_blog(session, polled.blogs[0])
    changes = {url: change for change, url, _d in report.changes}
    assert changes.pop(SEED) is Change.CHANGED
    assert set(changes.values()) == {Change.UNCHANGED}
    assert page_reads(blog) == ["/2019/06/12/binge-learning-certificates/"]
    after = await BlogPost.get(url=SEED)
    assert after.data["title"] == "Binge-learning certificates, revisited"
    assert after.fingerprint != before.fingerprint and after.changed_at > before.changed_at


async def test_first_seen_and_changed_are_read_on_the_pollers_clock(blog: BlogServer, polled: Config) -> None:
    """One clock for both ends of an edit: an `Update` says `updated` only for an edit seen
    over a second after the first reading (bridge/publish/documents.py), so a test that
    injects the clock must be able to place the first reading too."""
    first = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)  # far from the real clock on purpose
    async with new_http_session(polled) as session:
        await poll_blog(session, polled.blogs[0], clock=lambda: first)
        row = await BlogPost.get(url=SEED)
        assert row.first_seen_at == row.changed_at == row.fetched_at == first
        page = blog.routes[("/2019/06/12/binge-learning-certificates/", ())]
        page.body = page.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        rest = blog.routes[("/wp-json/wp/v2/posts/5", ())]
        rest.body = rest.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        read = await reader.read_post(session, SEED, feed_url=FEED)
    edited = first + timedelta(seconds=2)
    assert await record_post("blog", read, clock=lambda: edited) is Change.CHANGED
    row = await BlogPost.get(url=SEED)
    assert (row.first_seen_at, row.changed_at) == (first, edited)
    obj = await post_object("https://bridge.example", polled.blogs[0], row, None, ["blog"])
    assert datetime.fromisoformat(obj["updated"]) == edited


async def test_a_post_is_gone_when_its_permalink_says_so_not_when_the_feed_drops_it(
    blog: BlogServer, polled: Config
) -> None:
    async with new_http_session(polled) as session:
        await poll_blog(session, polled.blogs[0])
        feed_route = blog.routes[("/feed/", ())]
        feed_route.headers = [(k, v) for k, v in feed_route.headers if k.lower() != "etag"]
        # Drop the seed post (the oldest) from the feed, and make another item's page answer 410.
        seed_item = re.compile(rf"<item>(?:(?!</item>).)*?<link>{re.escape(SEED)}</link>.*?</item>", re.S)
        feed_route.body, dropped = seed_item.subn("", feed_route.body.decode())
        feed_route.body = feed_route.body.encode()
        assert dropped == 1
        status_post = "http://127.0.0.1:8765/2019/06/20/6/"
        blog.add(status_post, b"gone", {"Content-Type": "text/html"}, status=410)
        await BlogPost.filter(url=status_post).update(fetched_at=utcnow() - timedelta(days=1))  # due for a re-read
        blog.requests.clear()
        report = await poll_blog(session, polled.blogs[0])
    changes = {url: change for change, url, _d in report.changes}
    assert changes[status_post] is Change.GONE
    assert SEED not in changes and report.missing == 0
    assert "/2019/06/12/binge-learning-certificates/" not in page_reads(blog)
    assert (await BlogPost.get(url=status_post)).state is PostState.GONE
    # Older than every post still listed: it scrolled out of the feed, it is not checked.
    assert (await BlogPost.get(url=SEED)).state is PostState.LIVE


async def test_a_blog_that_is_down_is_recorded_and_polled_again_later(write_config, database: Config) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(), env={})  # the blog is a closed port
    async with new_http_session(config) as session:
        report = await poll_blog(session, config.blogs[0])
    assert report.error and "127.0.0.1:9" in report.error
    state = await BlogState.get(name="blog")
    assert state.polls == 0 and state.last_poll_error == report.error[:2000] and state.last_poll_at is not None
    assert await BlogPost.all().count() == 0


async def test_polls_are_scheduled_once_per_interval_across_processes(polled: Config) -> None:
    now = utcnow()
    assert await schedule_polls(polled.blogs, clock=lambda: now) == 1
    assert await schedule_polls(polled.blogs, clock=lambda: now) == 0  # another process, same interval
    later = now + timedelta(seconds=polled.blogs[0].poll_interval)
    assert await schedule_polls(polled.blogs, clock=lambda: later) == 1
    assert await Job.filter(kind=Poll.KIND).count() == 2


def test_bridge_poll_prints_progress_and_a_summary(
    blog_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def run_with_blog() -> int:
        server = await BlogServer.wordpress("twentytwentythree").start()
        try:
            return await asyncio.to_thread(cli.run, ["poll", "-c", str(blog_config)])
        finally:
            await server.stop()

    assert asyncio.run(run_with_blog()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"blog: polling {BLOG}"
    assert sorted(line.split()[1] for line in out[1:-1]) == PERMALINKS
    assert all(line.split()[0] == "new" for line in out[1:-1])
    assert out[-1] == "blog: 7 feed items: 7 new (first poll: existing posts recorded, not announced)"


def test_bridge_poll_exits_1_when_the_blog_is_down(write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert cli.run(["poll", "-c", str(write_config())]) == 1
    assert "blog: poll failed: " in capsys.readouterr().out


def test_bridge_inspect_json_and_text(blog_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def inspect(*args: str) -> int:
        server = await BlogServer.wordpress("twentytwentythree").start()
        try:
            return await asyncio.to_thread(cli.run, ["inspect", "-c", str(blog_config), *args])
        finally:
            await server.stop()

    assert asyncio.run(inspect(SEED, "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["title"] == "Binge-learning certificates"
    assert data["url"] == SEED
    assert data["published"] == "2019-06-12T08:15:00-04:00"
    assert data["author"]["name"] == "Maya Okonkwo"
    assert data["author"]["photo"] == "http://127.0.0.1:8765/wp-content/uploads/2019/05/maya-avatar.png"
    assert set(data["sources"]) >= {"title", "content_html", "published", "url"}
    assert SEED in data["fetched"]

    assert asyncio.run(inspect(SEED)) == 0
    text = capsys.readouterr().out
    assert "Binge-learning certificates" in text and "[wp-rest]" in text

    assert asyncio.run(inspect("http://127.0.0.1:8765/no-such-post/")) == 1
    assert "cannot read http://127.0.0.1:8765/no-such-post/" in capsys.readouterr().err


async def test_a_changed_profile_queues_an_update_of_the_actor_and_the_first_poll_publishes_nothing(
    blog: BlogServer, polled: Config
) -> None:
    from dataclasses import replace

    pass
    pass

    async with new_http_session(polled) as session:
        await poll_blog(session, polled.blogs[0])
        assert not await Job.exists(kind=Publish.KIND)  # posts from before the bridge are not announced
        await BlogState.filter(name="blog").update(profile_read_at=None)
        await poll_blog(session, polled.blogs[0])  # the same profile again
        assert not await Job.exists(kind=ActorUpdate.KIND)
        await BlogState.filter(name="blog").update(profile_read_at=None)
        await poll_blog(session, replace(polled.blogs[0], display_name="Maya O."))
    job = await Job.get(kind=ActorUpdate.KIND)
    assert job.payload == {"actor": "blog", "reason": "profile changed"}
