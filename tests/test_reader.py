"""Reading real WordPress post pages over HTTP, field by field against truth.json.

The blog test server (tests/blogserver.py) serves the recorded pages, REST API JSON,
oEmbed JSON and feeds at their own URLs on 127.0.0.1:8765.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.blog.merge import with_overrides
from bridge.blog.post import Author, Media
from bridge.blog.report import inspect_json, inspect_text
from bridge.net.fetch import HTTPStatusError, user_agent
from bridge.publish import reader
from tests.blogserver import THEMES, BlogServer, paragraphs, published_posts, truth

HOME = "http://127.0.0.1:8765/"
FEED = "http://127.0.0.1:8765/feed/"
SITE_AUTHOR = truth()["site"]["author"]
AUTHOR = Author(name=SITE_AUTHOR["display_name"], url=SITE_AUTHOR["url"], photo=SITE_AUTHOR["avatar_url"])
CHROME = ("<form", "<script", "comment-respond", "webmention", "Leave a", "Post Comment", "Share")



@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"User-Agent": user_agent("http://bridge.test/")}) as s:
        yield s


@pytest.fixture(params=THEMES)
async def blog(request: pytest.FixtureRequest) -> AsyncIterator[BlogServer]:
    server = await BlogServer.wordpress(request.param).start()
    server.theme = request.param  # type: ignore[attr-defined]
    yield server
    await server.stop()


def expected_sources(theme: str, t: dict[str, Any]) -> dict[str, str]:
    """Where each field must come from, per theme (see each theme's manifest "findings")."""
    rest = {"title": "wp-rest", "content_html": "wp-rest", "published": "wp-rest", "updated": "wp-rest",
            "categories": "wp-rest", "tags": "wp-rest", "featured": "wp-rest", "language": "meta"}
    if theme == "twentytwentyone":
        # The page's mf1 entry gives title, content, date and terms (by name, fixed);
        # the REST API what the theme gets wrong or leaves out: the modified date, the
        # untitled status (the theme prints "Untitled"), tags when the page shows none,
        # the featured image.
        rest.update(title="mf1" if t["title"] else "wp-rest", content_html="mf1", published="mf1",
                    categories="mf1", tags="mf1" if t["tags"] else "wp-rest", language="mf1")
    out = {**rest, "url": "rel-canonical", "author.name": "wp-rest", "author.url": "wp-rest",
           "author.photo": "wp-rest"}
    if t["image"]:
        out["photos"] = "mf1" if theme == "twentytwentyone" else "wp-rest"
    if t["in_reply_to"]:
        out["in_reply_to"] = "mf1" if theme == "twentytwentyone" else "wp-rest"
    return out


@pytest.mark.parametrize("t", published_posts(), ids=lambda t: t["key"])
async def test_read_post_matches_truth(blog: BlogServer, session: aiohttp.ClientSession, t: dict[str, Any]) -> None:
    theme = blog.theme  # type: ignore[attr-defined]
    result = await reader.read_post(session, t["permalink"])
    post = result.post

    assert post.title == (t["title"] or None)
    assert paragraphs(post.content_html or "") == t["content_paragraphs_text"]
    for chrome in CHROME:
        assert chrome not in (post.content_html or "")
    assert post.published is not None and post.published.isoformat() == t["published"]
    assert post.updated is not None and post.updated.isoformat() == t["updated"]
    assert post.url == t["permalink"]
    assert post.author == AUTHOR
    assert post.categories == tuple(t["categories"])
    assert post.tags == tuple(t["tags"])
    assert post.summary is None  # WordPress's automatic excerpts are not summaries
    assert post.in_reply_to == ((t["in_reply_to"],) if t["in_reply_to"] else ())
    assert post.language == "en-US"
    image = t["image"]
    if image:
        assert post.featured == Media(url=image["full"], alt=image["alt"], mime_type="image/jpeg")
        assert post.photos == (Media(url=image["large"], alt=image["alt"]),)
    else:
        assert post.featured is None and post.photos == ()
    assert dict(post.sources) == expected_sources(theme, t)

    # The profile, from the post's author (WordPress's user) and the page.
    profile = result.profile
    assert (profile.name, profile.url, profile.summary) == (AUTHOR.name, AUTHOR.url, SITE_AUTHOR["bio"])
    assert profile.icon == Media(url=AUTHOR.photo)
    assert profile.feed_url == FEED
    assert result.url == t["permalink"] and result.feed_url == FEED
    # The feed was not needed: nothing was missing after the page and the REST API.
    assert FEED not in result.fetched
    assert result.fetched[:2] == (t["permalink"], f"http://127.0.0.1:8765/wp-json/wp/v2/posts/{t['id']}")
    # Only posts 5-7 have a recorded oEmbed document; the others' 404 is a noted, harmless miss.
    assert all(p.startswith("oembed:") for p in result.problems)
    assert bool(result.problems) == (t["id"] not in (5, 6, 7))


@pytest.mark.parametrize("theme", THEMES)
async def test_rest_api_disabled_falls_back_to_the_feed(theme: str, session: aiohttp.ClientSession) -> None:
    """Security plugins often turn /wp-json/ off: the RSS item fills what the page lacks."""
    server = await BlogServer.wordpress(theme, disabled_prefixes=["/wp-json/"]).start()
    try:
        for t in published_posts():
            result = await reader.read_post(session, t["permalink"])
            post = result.post
            assert FEED in result.fetched
            assert any(p.startswith("wp-rest:") and "404" in p for p in result.problems)
            assert post.title == (t["title"] or None)  # "Untitled" is still refused
            assert paragraphs(post.content_html or "") == t["content_paragraphs_text"]
            assert post.published == datetime.fromisoformat(t["published"])
            assert post.url == t["permalink"]
            # RSS has the name only; the page's byline links the author's archive (rel=author).
            byline = t["author"]["archive"] if theme == "twentytwentyone" else None  # 2023: no rel=author
            assert post.author == Author(name=AUTHOR.name, url=byline)
            assert post.sources["author.name"] == "feed" and post.sources.get("author.url") == (byline and "html")
            assert post.in_reply_to == ((t["in_reply_to"],) if t["in_reply_to"] else ())
            if theme == "twentytwentythree":
                # No microformats at all: everything from the feed, but the labels, which the
                # page's category and tag links tell apart (the RSS item mixes them).
                assert post.categories == tuple(t["categories"]) and post.tags == tuple(t["tags"])
                assert {k: post.sources.get(k) for k in ("content_html", "published", "categories")} == {
                    "content_html": "feed", "published": "feed", "categories": "html"}
                assert post.sources.get("title") == ("feed" if t["title"] else None) or not t["title"]
            else:
                assert post.categories == tuple(t["categories"]) and post.tags == tuple(t["tags"])
                assert post.sources["content_html"] == "mf1"
            # Without the REST API the modified date is unknown, not guessed.
            assert post.updated is None
    finally:
        await server.stop()


async def test_rest_link_from_http_link_header_only(session: aiohttp.ClientSession) -> None:
    """A page whose <head> lost its REST link still names it in the HTTP Link header."""
    server = BlogServer.wordpress("twentytwentythree")
    source = Path(__file__).parent / "fixtures" / "wordpress" / "twentytwentythree"
    html = (source / "post-updated.html").read_text(encoding="utf-8")
    html = html.replace('<link rel="alternate" type="application/json" '
                        'href="http://127.0.0.1:8765/wp-json/wp/v2/posts/11" />', "")
    assert "wp/v2/posts/11" not in html.split("<body")[0]
    server.add("http://127.0.0.1:8765/stripped/", html.encode(), {
        "Content-Type": "text/html; charset=UTF-8",
        "Link": '<http://127.0.0.1:8765/wp-json/wp/v2/posts/11>; rel="alternate"; type="application/json"'})
    await server.start()
    try:
        result = await reader.read_post(session, "http://127.0.0.1:8765/stripped/")
    finally:
        await server.stop()
    assert result.post.updated is not None and result.post.updated.isoformat() == "2019-08-02T14:20:00-04:00"
    assert result.post.sources["updated"] == "wp-rest"


async def test_shortlink_redirects_to_the_permalink(session: aiohttp.ClientSession) -> None:
    server = await BlogServer.wordpress("twentytwentyone").start()
    try:
        result = await reader.read_post(session, "http://127.0.0.1:8765/?p=5")
    finally:
        await server.stop()
    permalink = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"
    assert result.url == permalink and result.post.url == permalink
    assert result.post.title == "Binge-learning certificates"


async def test_draft_is_not_public(session: aiohttp.ClientSession) -> None:
    server = await BlogServer.wordpress("twentytwentythree").start()
    try:
        with pytest.raises(HTTPStatusError) as caught:
            await reader.read_post(session, "http://127.0.0.1:8765/?p=12")
    finally:
        await server.stop()
    assert caught.value.status == 404


async def test_read_profile_and_discover_feed(blog: BlogServer, session: aiohttp.ClientSession) -> None:
    profile = await reader.read_profile(session, HOME)
    assert profile.name == AUTHOR.name
    assert profile.icon == Media(url=AUTHOR.photo)
    assert profile.summary == SITE_AUTHOR["bio"]
    assert profile.site_name == truth()["site"]["name"]
    assert profile.url == HOME and profile.feed_url == FEED
    assert profile.language == "en-US"
    assert dict(profile.sources) == {"name": "wp-rest", "icon": "wp-rest", "summary": "wp-rest",
                                     "site_name": "meta", "url": "fetch-url", "feed_url": "feed",
                                     "language": "meta"}
    overridden = with_overrides(profile, name="Binge Learner", header="https://img.example/h.jpg")
    assert overridden.name == "Binge Learner" and overridden.header == Media(url="https://img.example/h.jpg")
    assert overridden.sources["name"] == "config" and overridden.sources["header"] == "config"
    link = await reader.discover_feed(session, HOME)
    assert link is not None and link.url == FEED


async def test_indieweb_site_rel_author_and_atom_feed(session: aiohttp.ClientSession) -> None:
    """A non-WordPress site: an h-entry without author, rel=author to an h-card page; and a
    page with no microformats whose facts come from OpenGraph and its Atom feed."""
    mf2 = Path(__file__).parent / "fixtures" / "mf2"
    html = {"Content-Type": "text/html; charset=utf-8"}
    post = (b'<html lang="en"><head><title>Hello - Jo</title><link rel="author" href="/about">'
            b'<link rel="alternate" type="application/atom+xml" href="/feed.atom"></head><body>'
            b'<article class="h-entry"><h1 class="p-name">Hello</h1><div class="e-content"><p>Body '
            b'text.</p></div><time class="dt-published" datetime="2024-06-01T10:00:00+02:00">x</time>'
            b'</article></body></html>')
    about = (b'<html><body><a rel="me" href="https://social.example/@jo">fedi</a>'
             b'<div class="h-card"><a class="u-url u-uid p-name" href="/about">Jo Example</a>'
             b'<img class="u-photo" src="/jo.png" alt="Jo"></div></body></html>')
    atom = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            b'<title>Kaffeeblog</title><author><name>Kim</name></author>'
            b'<entry><title>Kaffee am Morgen</title><link href="https://kaffee.example/2024/kaffee-am-morgen/"/>'
            b'<id>k1</id><published>2024-03-01T07:00:00+01:00</published>'
            b'<content type="html">&lt;p&gt;Seit einem Monat mahle ich von Hand.&lt;/p&gt;</content></entry></feed>')
    server = await BlogServer.from_files({
        "http://127.0.0.1:8765/hello": (post, html),
        "http://127.0.0.1:8765/about": (about, html),
        "http://127.0.0.1:8765/feed.atom": (atom, {"Content-Type": "application/atom+xml"}),
        "http://127.0.0.1:8765/kaffee": (mf2 / "nomf.html", html),
    }).start()
    try:
        hello = await reader.read_post(session, "http://127.0.0.1:8765/hello")
        kaffee = await reader.read_post(session, "http://127.0.0.1:8765/kaffee",
                                        feed_url="http://127.0.0.1:8765/feed.atom")
    finally:
        await server.stop()
    assert hello.post.author == Author(name="Jo Example", url="http://127.0.0.1:8765/about",
                                       photo="http://127.0.0.1:8765/jo.png")
    assert hello.post.sources["author.name"] == "mf2"
    assert hello.profile.links == ("https://social.example/@jo",)
    assert "http://127.0.0.1:8765/feed.atom" not in hello.fetched  # nothing was missing
    post = kaffee.post
    assert post.url == "https://kaffee.example/2024/kaffee-am-morgen/"
    assert post.title == "Kaffee am Morgen" and post.sources["title"] == "feed"
    assert post.content_html == "<p>Seit einem Monat mahle ich von Hand.</p>"
    assert post.sources["content_html"] == "feed"
    # og:image is relative: resolved against the page as fetched.
    assert post.featured == Media(url="http://127.0.0.1:8765/uploads/muehle.jpg", alt="Eine Handmühle aus Holz")
    assert post.sources["featured"] == "opengraph"
    assert post.author == Author(name="Kim") and post.sources["author.name"] == "feed"
    assert post.published and post.published.isoformat() == "2024-03-01T07:00:00+01:00"


async def test_inspect_json_and_text(session: aiohttp.ClientSession) -> None:
    server = await BlogServer.wordpress("twentytwentyone").start()
    try:
        result = await reader.read_post(session, "http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/")
    finally:
        await server.stop()
    data = inspect_json(result.post, result.profile)
    json.dumps(data)  # JSON-ready
    assert data["title"] == "A wall of certificates" and data["type"] == "article"
    assert data["published"] == "2019-06-28T18:30:00-04:00" and data["updated"] == "2019-06-28T18:30:00-04:00"
    assert data["url"] == "http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/"
    assert data["author"] == {"name": AUTHOR.name, "url": AUTHOR.url, "photo": AUTHOR.photo}
    assert data["categories"] == ["Learning"] and data["in_reply_to"] == [] and data["language"] == "en-US"
    assert data["photos"] == [{"url": "http://127.0.0.1:8765/wp-content/uploads/2019/06/certificate-wall-1024x683.jpg",
                               "alt": "Five printed certificates pinned to a cork board"}]
    assert data["sources"]["title"] == "mf1" and data["sources"]["updated"] == "wp-rest"
    assert data["profile"]["name"] == AUTHOR.name and data["profile"]["sources"]["name"] == "wp-rest"
    text = inspect_text(result.post, result.profile)
    assert "A wall of certificates    [mf1]" in text
    assert "updated       2019-06-28T18:30:00-04:00    [wp-rest]" in text
    assert "url           http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/    [rel-canonical]" in text
    for field in ("title", "content_html", "summary", "published", "updated", "author.name", "author.photo",
                  "categories", "photos", "in_reply_to", "language", "profile", "site_name"):
        assert field in text


async def test_blog_server_says_when_its_port_is_taken() -> None:
    holder = await BlogServer.wordpress("twentytwentyone").start()
    try:
        with pytest.raises(RuntimeError, match="needs 127.0.0.1:8765"):
            await BlogServer.wordpress("twentytwentyone").start(wait=0.3)
    finally:
        await holder.stop()
