"""The WordPress stand-in (tests/wpblog.py) behaves as tests/fixtures/wordpress/webmention-plugin.md
says WordPress 6.1 with the Webmention plugin 5.3.3 does: one test per row of its "Receiving"
table, the comment display, discovery, the "Sending" section, and the feed and REST API a trashed
post leaves. Sources are pages of a small aiohttp site on 127.0.0.1; every request is real HTTP.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import mf2py  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from bs4 import BeautifulSoup

from tests.wpblog import Post, WordPressBlog
from tests.wpblog_source import htmlspecialchars_decode, kses, link_needle

PUBLISHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SUCCESS = {"code": "success", "message": "Webmention was successful"}


class Site:
    """Somebody else's site: the sources' pages (editable), and a webmention endpoint that records."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, dict[str, str]]] = {}
        self.hits: Counter[str] = Counter()
        self.received: list[dict[str, str]] = []
        self.origin = ""

    def put(self, path: str, html: str, status: int = 200, headers: dict[str, str] | None = None) -> str:
        self.pages[path] = (status, html, headers or {})
        return self.origin + path

    async def page(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        status, html, headers = self.pages.get(request.path, (404, "gone", {}))
        return web.Response(status=status, text=html, content_type="text/html", headers=headers)

    async def endpoint(self, request: web.Request) -> web.Response:
        self.received.append({k: str(v) for k, v in (await request.post()).items()})
        return web.Response(status=202, text="Webmention accepted")


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    s = Site()
    app = web.Application()
    app.router.add_post("/webmention", s.endpoint)
    app.router.add_get("/{path:.*}", s.page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    s.origin = str(server.make_url("")).rstrip("/")
    yield s
    await server.close()


@pytest.fixture
async def blog() -> AsyncIterator[WordPressBlog]:
    b = await WordPressBlog(approve_domains=("127.0.0.1",), feed_size=10).start()
    yield b
    await b.stop()


@pytest.fixture
async def post(blog: WordPressBlog) -> Post:
    return blog.add_post(slug="hello", title="Hello", content_html="<p>Hi</p>", published=PUBLISHED)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def entry(target: str, *, prop: str = "u-in-reply-to", card: str | None = None, url: str = "",
          content: str = "<p>Nice <em>post</em>!</p>", title: str = "A reply") -> str:
    """An h-entry page answering `target`; `card`: the author h-card's HTML."""
    card = card if card is not None else '<span class="p-author h-card"><span class="p-name">Alice</span></span>'
    link = f'<a class="{prop}" href="{target}">the post</a>' if prop else ""
    own = f'<a class="u-url" href="{url}">permalink</a>' if url else ""
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f'<article class="h-entry">{card}{link}{own}'
            '<time class="dt-published" datetime="2024-05-02T10:00:00+02:00">May 2</time>'
            f'<div class="e-content">{content}</div></article></body></html>')


async def send(http: aiohttp.ClientSession, blog: WordPressBlog, source: str, target: str) -> tuple[int, Any]:
    async with http.post(blog.endpoint, data={"source": source, "target": target}) as resp:
        return resp.status, await resp.json()


def item_links(feed: str) -> list[str]:
    return [link.get_text() for link in BeautifulSoup(feed, "xml").select("item > link")]


async def page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_a_reply_is_a_comment_with_the_explicit_author_url(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    card = ('<div class="p-author h-card"><img class="u-photo" src="/avatars/alice.png" alt="">'
            '<a class="u-url p-name" href="https://alice.example/">Alice</a></div>')
    source = site.put("/r/alice", entry(post.permalink, card=card, url="/notes/1"))
    status, body = await send(http, blog, source, post.permalink)
    assert (status, body) == (200, {"link": f"{site.origin}/notes/1", "source": source,
                                    "target": post.permalink, **SUCCESS})
    assert site.hits["/r/alice"] == 2  # the plugin fetches the source twice
    [c] = blog.comments
    assert (c.post_id, c.parent, c.type, c.author, c.author_url, c.approved, c.by_blogger) == (
        post.id, 0, "comment", "Alice", "https://alice.example/", True, False)
    assert c.content == "<p>Nice <em>post</em>!</p>"
    assert c.date_gmt == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    assert {k: c.meta.get(k) for k in ("url", "webmention_source_url", "webmention_target_url", "avatar")} == {
        "url": f"{site.origin}/notes/1", "webmention_source_url": source, "webmention_target_url": post.permalink,
        "avatar": f"{site.origin}/avatars/alice.png"}
    assert "webmention_target_fragment" not in c.meta
    assert blog.received[-1].status == 200 and blog.received[-1].source == source


@pytest.mark.parametrize("card", [
    ('<a class="p-author h-card" href="https://bob.example/"><img class="u-photo" src="/bob.png" alt="">'
     '<span class="p-name">Bob</span></a>'),
    '<a class="p-author h-card" href="https://bob.example/">Bob</a>',  # mf2py implies the url
    '<span class="p-author h-card"><span class="p-name">Bob</span> <a href="https://bob.example/">home</a></span>',
], ids=["a-with-photo", "a-implied-url", "no-u-url"])
async def test_without_an_explicit_u_url_the_author_url_is_the_source(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession, card: str) -> None:
    source = site.put("/r/bob", entry(post.permalink, card=card))
    assert (await send(http, blog, source, post.permalink))[0] == 200
    [c] = blog.comments
    assert (c.author, c.author_url, c.meta["url"]) == ("Bob", source, source)


@pytest.mark.parametrize(("prop", "kind"), [("u-like-of", "like"), ("u-repost-of", "repost")])
async def test_likes_and_reposts_keep_the_title_and_show_in_a_facepile(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession, prop: str, kind: str) -> None:
    card = '<span class="p-author h-card"><a class="u-url p-name" href="https://dave.example/">Dave</a></span>'
    source = site.put("/r/dave", entry(post.permalink, prop=prop, card=card, title="Dave &amp; the post"))
    assert (await send(http, blog, source, post.permalink))[0] == 200
    [c] = blog.comments
    assert (c.type, c.content, c.author_url) == (kind, "Dave & the post", "https://dave.example/")
    soup = BeautifulSoup((await page(http, post.permalink))[1], "html.parser")
    assert [a["href"] for a in soup.select(f"ul.reactions.reaction-list--{kind} li a.u-url")] == [
        "https://dave.example/"]
    assert soup.select("ol.comment-list") == []


@pytest.mark.parametrize(("words", "kind"), [(10, "comment"), (80, "mention")])
async def test_a_mention_in_the_content_is_a_comment_up_to_300_characters(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession, words: int, kind: str) -> None:
    content = f'<p>About <a href="{post.permalink}">this</a>: ' + "word " * words + "</p>"
    source = site.put("/r/carol", entry(post.permalink, prop="", content=content))
    assert (await send(http, blog, source, post.permalink))[0] == 200
    [c] = blog.comments
    assert c.type == kind
    if kind == "comment":
        assert c.content == content
    else:  # shortened
        assert c.content.startswith("About this: word") and c.content.endswith("[&hellip;]")
        assert len(c.content) < len(content)


async def test_a_source_without_h_entry_is_a_mention_by_its_host(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    source = site.put("/plain", f'<html><head><title>Links</title></head><body><a href="{post.permalink}">x</a>')
    assert (await send(http, blog, source, post.permalink))[0] == 200
    [c] = blog.comments
    assert (c.type, c.author, c.author_url, c.meta["url"]) == ("mention", "127.0.0.1", source, source)


async def test_approved_only_from_the_approve_domains(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    strict = await WordPressBlog(approve_domains=("friends.example",)).start()
    try:
        other = strict.add_post(slug="hello", title="Hello", content_html="<p>Hi</p>", published=PUBLISHED)
        source = site.put("/r/eve", entry(other.permalink) + entry(post.permalink))
        assert (await send(http, strict, source, other.permalink))[0] == 200
        assert [c.approved for c in strict.comments] == [False]
        assert "Nice" not in (await page(http, other.permalink))[1]  # pending: not shown
        strict.approve(strict.comments[0].id)
        assert "Nice <em>post</em>" in (await page(http, other.permalink))[1]
    finally:
        await strict.stop()
    assert (await send(http, blog, source, post.permalink))[0] == 200
    assert [c.approved for c in blog.comments] == [True]


async def test_the_same_source_again_updates_the_comment_in_place(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    source = site.put("/r/alice", entry(post.permalink))
    await send(http, blog, source, post.permalink)
    [c] = blog.comments
    c.approved = False  # the blogger unapproved it: an update keeps that
    card = '<span class="p-author h-card"><a class="u-url p-name" href="https://alice.example/">Alice B.</a></span>'
    site.put("/r/alice", entry(post.permalink, card=card, content="<p>Edited <em>words</em></p><p>two</p>"))
    status, body = await send(http, blog, source, post.permalink)
    assert (status, body["code"]) == (200, "success")
    assert blog.comments == [c] and c.id == 1 and c.approved is False
    assert (c.author, c.author_url, c.content) == ("Alice B.", "https://alice.example/", "Edited <em>words</em>two")


async def test_a_source_whose_u_url_was_stored_updates_that_comment(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    first = site.put("/r/old", entry(post.permalink, url="/r/new"))
    await send(http, blog, first, post.permalink)
    new = site.put("/r/new", entry(post.permalink, content="<p>Moved</p>"))
    await send(http, blog, new, post.permalink)
    [c] = blog.comments
    assert (c.id, c.content, c.meta["webmention_source_url"]) == (1, "Moved", new)


@pytest.mark.parametrize(("code", "reason"), [(410, "Gone"), (404, "Not Found")])
async def test_a_source_gone_changes_nothing(blog: WordPressBlog, post: Post, site: Site,
                                             http: aiohttp.ClientSession, code: int, reason: str) -> None:
    source = site.put("/r/alice", entry(post.permalink))
    await send(http, blog, source, post.permalink)
    before = copy.deepcopy(blog.comments)
    site.put("/r/alice", "<p>deleted</p>", status=code)
    assert await send(http, blog, source, post.permalink) == (
        code, {"code": "http_error", "message": reason, "data": {"status": code}})
    assert blog.comments == before and blog.comments[0].approved


async def test_a_source_that_no_longer_links_changes_nothing(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    source = site.put("/r/alice", entry(post.permalink))
    await send(http, blog, source, post.permalink)
    before = copy.deepcopy(blog.comments)
    site.put("/r/alice", entry("https://elsewhere.example/", content="<p>Changed</p>"))
    expected = (400, {"code": "target_not_found", "message": "Cannot find target link", "data": {"status": 400}})
    assert await send(http, blog, source, post.permalink) == expected
    assert blog.comments == before
    never = site.put("/r/never", "<p>no link at all</p>")
    assert await send(http, blog, never, post.permalink) == expected
    assert len(blog.comments) == 1


def test_the_link_check_is_the_plugins_substring_search() -> None:
    assert link_needle("https://www.blog.example/2024/05/01/hello//#comment-3") == "blog.example/2024/05/01/hello"
    assert link_needle("http://127.0.0.1:8/a/?replytocom=4") == "127.0.0.1:8/a/?replytocom=4"
    # htmlspecialchars_decode, not html.unescape: only &amp; &quot; &lt; &gt; and the numeric &, ", ', <, >.
    assert htmlspecialchars_decode("a&amp;b &#38; &#x27; &#47; &eacute;") == "a&b & ' &#47; &eacute;"
    assert kses('<p class="x">A <em>b</em> <a href="/u" rel="n">c</a><img src="i"></p>') == (
        'A <em>b</em> <a href="/u">c</a>')


async def test_targets_that_are_not_a_post_are_refused(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    source = site.put("/r/alice", entry(blog.url) + entry(post.permalink))
    assert await send(http, blog, source, blog.url) == (
        400, {"code": "target_not_valid", "message": "Target is not a valid post", "data": {"status": 400}})
    assert (await send(http, blog, source, f"{site.origin}/2024/05/01/hello/"))[1]["code"] == (
        "target_mismatching_domain")
    closed = blog.add_post(slug="closed", title="Closed", content_html="<p>x</p>", pings_open=False)
    assert (await send(http, blog, source, closed.permalink))[1]["code"] == "webmentions_closed"
    async with http.post(blog.endpoint, data={"source": source}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, "rest_missing_callback_param")
    async with http.post(blog.endpoint, data={"source": "not a url", "target": post.permalink}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, "rest_invalid_param")
    # From the plugin's code (not in the table): a source that is the target's own post is refused.
    assert (await send(http, blog, f"{post.permalink}?replytocom=9", post.permalink))[1]["code"] == (
        "source_equals_target")
    assert site.hits["/r/alice"] == 0 and blog.comments == []
    assert [r.status for r in blog.received] == [400] * 6


async def test_replytocom_threads_and_a_comment_fragment_does_not(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    first = site.put("/r/alice", entry(post.permalink))
    await send(http, blog, first, post.permalink)
    threaded = f"{post.permalink}?replytocom=1"
    second = site.put("/r/bob", entry(threaded))
    assert (await send(http, blog, second, threaded))[0] == 200
    fragment = f"{post.permalink}#comment-1"
    third = site.put("/r/carol", entry(fragment))
    assert (await send(http, blog, third, fragment))[0] == 200
    assert [(c.id, c.parent) for c in blog.comments] == [(1, 0), (2, 1), (3, 0)]
    assert blog.comment(3).meta["webmention_target_fragment"] == "comment-1"
    assert blog.comment(2).meta["webmention_target_url"] == threaded
    soup = BeautifulSoup((await page(http, post.permalink))[1], "html.parser")
    assert [li["id"] for li in soup.select("ol.comment-list > li")] == ["comment-1", "comment-3"]
    assert [li["id"] for li in soup.select("li#comment-1 > ol.children > li")] == ["comment-2"]


async def test_approved_comments_are_shown_as_wordpress_renders_them(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    card = ('<div class="p-author h-card"><img class="u-photo" src="/a.png" alt="">'
            '<a class="u-url p-name" href="https://alice.example/">Alice</a></div>')
    shown = site.put("/r/alice", entry(post.permalink, card=card))
    hidden = site.put("/r/zed", entry(post.permalink, content="<p>Pending words</p>"))
    await send(http, blog, shown, post.permalink)
    await send(http, blog, hidden, post.permalink)
    blog.comment(2).approved = False
    status, html = await page(http, post.permalink)
    soup = BeautifulSoup(html, "html.parser")
    body = soup.select_one("li#comment-1 > article#div-comment-1.comment-body.h-cite.p-comment")
    assert status == 200 and body is not None
    assert [a["href"] for a in body.select("a.u-url")] == ["https://alice.example/", shown]
    assert body.select_one("img.u-photo.avatar")["src"] == f"{site.origin}/a.png"  # type: ignore[index]
    assert body.select_one("a.u-url.p-name").get_text() == "Alice"  # type: ignore[union-attr]
    assert soup.select("#comment-2") == [] and "Pending words" not in html
    # The post itself: the theme's h-entry, found first by a microformats parser.
    item = mf2py.parse(doc=html, url=post.permalink)["items"][0]
    assert item["type"] == ["h-entry"]
    assert (item["properties"]["name"], item["properties"]["url"]) == (["Hello"], [post.permalink])
    assert [datetime.fromisoformat(d) for d in item["properties"]["published"]] == [PUBLISHED]
    assert item["properties"]["author"][0]["properties"]["url"] == [blog.url]


async def test_discovery_is_on_post_pages_only(blog: WordPressBlog, post: Post, http: aiohttp.ClientSession) -> None:
    async with http.get(post.permalink) as resp:
        links = resp.headers.getall("Link")
        html = await resp.text()
    assert f'<{blog.endpoint}>; rel="webmention"' in links
    assert f'<{blog.origin}/wp-json/wp/v2/posts/{post.id}>; rel="alternate"; type="application/json"' in links
    assert BeautifulSoup(html, "html.parser").select_one('link[rel="webmention"]')["href"] == blog.endpoint  # type: ignore[index]
    async with http.get(blog.url) as resp:
        home = BeautifulSoup(await resp.text(), "html.parser")
        assert not any("webmention" in v for v in resp.headers.getall("Link", []))
    assert home.select('link[rel="webmention"]') == []
    assert home.select_one('link[type="application/rss+xml"]')["href"] == f"{blog.origin}/feed/"  # type: ignore[index]
    async with http.get(f"{blog.origin}/?p={post.id}", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (301, post.permalink)
    assert (await page(http, f"{blog.origin}/nothing/here/"))[0] == 404


async def test_a_trashed_or_deleted_post_is_gone(blog: WordPressBlog, http: aiohttp.ClientSession) -> None:
    older = blog.add_post(slug="older", title="Older", content_html="<p>1</p>", published=PUBLISHED)
    newer = blog.add_post(slug="newer", title="Newer", content_html="<p>2</p>",
                          published=datetime(2024, 6, 1, tzinfo=UTC))
    async with http.get(f"{blog.origin}/wp-json/wp/v2/posts/{older.id}") as resp:
        data = await resp.json()
    assert (resp.status, data["id"], data["link"], data["status"], data["title"]["rendered"]) == (
        200, older.id, older.permalink, "publish", "Older")
    assert (data["date_gmt"], data["author"], data["content"]["rendered"]) == ("2024-05-01T12:00:00", 1, "<p>1</p>\n")
    async with http.get(f"{blog.origin}/feed/") as resp:
        etag, feed = resp.headers["ETag"], await resp.text()
    assert item_links(feed) == [newer.permalink, older.permalink]

    blog.trash(older.id)
    assert (await page(http, older.permalink))[0] == 404
    assert (await page(http, f"{older.permalink}?replytocom=1"))[0] == 404
    async with http.get(f"{blog.origin}/wp-json/wp/v2/posts/{older.id}") as resp:
        assert (resp.status, await resp.json()) == (401, {
            "code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.", "data": {"status": 401}})
    # WordPress's ETag is the md5 of the newest published post's change: trashing an older one keeps it.
    async with http.get(f"{blog.origin}/feed/", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    async with http.get(f"{blog.origin}/feed/") as resp:
        feed = await resp.text()
    assert item_links(feed) == [newer.permalink]
    assert [e.get_text() for e in BeautifulSoup(feed, "xml").select("item > encoded")] == ["<p>2</p>"]

    blog.delete(older.id)
    async with http.get(f"{blog.origin}/wp-json/wp/v2/posts/{older.id}") as resp:
        assert (resp.status, (await resp.json())["code"]) == (404, "rest_post_invalid_id")
    blog.edit(newer.id, title="Newer, edited", modified=datetime(2024, 7, 1, tzinfo=UTC))
    async with http.get(f"{blog.origin}/feed/", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 200 and resp.headers["Last-Modified"] == "Mon, 01 Jul 2024 00:00:00 GMT"


async def test_an_answer_sends_the_documented_webmention(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    card = '<span class="p-author h-card"><a class="u-url p-name" href="https://alice.example/">Alice</a></span>'
    source = site.put("/r/alice", entry(post.permalink, card=card, url="/notes/1"))
    site.put("/notes/1", "<p>a note</p>", headers={"Link": '</webmention>; rel="webmention"'})
    await send(http, blog, source, post.permalink)
    reply, status, body = await blog.answer(1, "Thanks!", author="Binge Learner", author_url=blog.url)
    assert (reply.id, reply.parent, reply.approved, reply.by_blogger, reply.type) == (2, 1, True, True, "comment")
    assert (status, body) == (202, "Webmention accepted")
    reply_url = f"{post.permalink}?replytocom=2"
    assert site.received == [{"source": reply_url, "target": f"{site.origin}/notes/1"}]

    status, html = await page(http, reply_url)
    assert status == 200 and f'window.location = "{post.permalink}#comment-2"' in html
    [item] = mf2py.parse(doc=html, url=reply_url)["items"]
    props = item["properties"]
    assert item["type"] == ["h-entry"] and props["in-reply-to"] == ["https://alice.example/"]
    assert props["content"][0]["value"] == "Thanks!"
    assert props["author"][0]["properties"] == {"name": ["Binge Learner"], "url": [blog.url]}
    assert "published" in props
    # Another comment's replytocom is the post's own page; the answer shows under its parent there.
    status, html = await page(http, f"{post.permalink}?replytocom=1")
    assert status == 200 and mf2py.parse(doc=html, url=post.permalink)["items"][0]["properties"]["name"] == ["Hello"]
    soup = BeautifulSoup((await page(http, post.permalink))[1], "html.parser")
    assert [li["id"] for li in soup.select("li#comment-1 > ol.children > li")] == ["comment-2"]


async def test_an_answer_discovers_an_html_endpoint_or_none(
        blog: WordPressBlog, post: Post, site: Site, http: aiohttp.ClientSession) -> None:
    first = site.put("/r/a", entry(post.permalink, url="/notes/a"))
    second = site.put("/r/b", entry(post.permalink, url="/notes/b"))
    site.put("/notes/a", '<html><head><link rel="webmention" href="../webmention"></head></html>')
    site.put("/notes/b", "<p>no endpoint</p>")
    await send(http, blog, first, post.permalink)
    await send(http, blog, second, post.permalink)
    assert (await blog.answer(1, "One"))[1:] == (202, "Webmention accepted")
    assert site.received == [{"source": f"{post.permalink}?replytocom=3", "target": f"{site.origin}/notes/a"}]
    assert (await blog.answer(2, "Two"))[1:] == (0, "")
    assert len(site.received) == 1
