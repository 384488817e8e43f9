"""Feeds: discovery, RSS (the fixture blog's), Atom, JSON Feed, h-feed, and polling over HTTP."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from bridge.blog import content, feeds, microformats
from bridge.blog.post import Author, Media
from bridge.net.fetch import user_agent
from bridge.publish import reader
from tests.blogserver import THEMES, BlogServer, published_posts

WP = Path(__file__).parent / "fixtures" / "wordpress"
FEED_URL = "http://127.0.0.1:8765/feed/"


def rss(theme: str) -> feeds.Feed:
    return feeds.parse_feed((WP / theme / "feed.rss.xml").read_bytes(), FEED_URL,
                            "application/rss+xml; charset=UTF-8")


@pytest.mark.parametrize("theme", THEMES)
def test_wordpress_rss_items_match_truth(theme: str) -> None:
    feed = rss(theme)
    assert (feed.kind, feed.title, feed.description, feed.language) == (
        "rss", "Binge Learner", "Notes from a thrill-seeking binge-learner", "en-US")
    truth = sorted(published_posts(), key=lambda t: t["published"], reverse=True)
    assert [item.url for item in feed.items] == [t["permalink"] for t in truth]
    for item, t in zip(feed.items, truth):
        post = item.post
        assert post.sources == {"_": "feed"}
        # RSS dates are in UTC: the same instant as the page's local time.
        assert post.published == datetime.fromisoformat(t["published"])
        assert post.updated is None  # RSS 2.0 has no modified date
        assert post.author == Author(name="Maya Okonkwo")
        # RSS <category> mixes WordPress categories and tags, by name.
        assert post.categories == tuple(t["categories"] + t["tags"])
        assert post.in_reply_to == ((t["in_reply_to"],) if t["in_reply_to"] else ())
        text = " ".join(p for p in t["content_paragraphs_text"]).replace(" / ", "")
        assert content.squash(content.text_of(post.content_html or "")).startswith(
            content.squash(text)[:80])
        if t["image"]:
            assert Media(url=t["image"]["large"], alt=t["image"]["alt"]) in post.photos
    status = feed.find("http://127.0.0.1:8765/2019/06/20/6/")
    assert status is not None
    # Twenty Twenty-One writes "Untitled" into the feed too; Twenty Twenty-Three an empty title.
    assert status.post.title == ("Untitled" if theme == "twentytwentyone" else None)
    assert ("title" in status.post.empty) == (theme == "twentytwentythree")
    # The emoji image WordPress puts in feeds is the emoji again.
    assert "🤖" in (status.post.content_html or "") and "<img" not in (status.post.content_html or "")


@pytest.mark.parametrize("theme", THEMES)
def test_discovery_on_home_and_post_pages(theme: str) -> None:
    home = microformats.parse_page((WP / theme / "home.html").read_text(), "http://127.0.0.1:8765/")
    link = feeds.choose_feed(microformats.rel_links(home))
    assert link is not None and (link.url, link.type) == (FEED_URL, "application/rss+xml")
    post = microformats.parse_page((WP / theme / "post-seed.html").read_text(),
                                   "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/")
    found = feeds.feed_links(microformats.rel_links(post))
    assert [f.url for f in found] == [
        FEED_URL, "http://127.0.0.1:8765/comments/feed/",
        "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/feed/"]
    assert feeds.choose_feed(microformats.rel_links(post)).url == FEED_URL
    assert feeds.choose_feed(found[1:]) is None  # a comments feed is not the blog's feed


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0"
      xml:lang="nl">
  <title>Jo's log</title><subtitle>Small things</subtitle>
  <link rel="alternate" href="https://jo.example/"/>
  <icon>/icon.png</icon>
  <author><name>Jo</name><uri>https://jo.example/</uri></author>
  <entry>
    <title type="html">Fish &amp;amp; chips</title>
    <link rel="alternate" href="/2024/fish"/>
    <id>tag:jo.example,2024:fish</id>
    <published>2024-01-05T19:00:00+01:00</published>
    <updated>2024-01-06T08:00:00+01:00</updated>
    <thr:in-reply-to ref="https://other.example/1" href="https://other.example/1"/>
    <category term="food" label="Food"/>
    <link rel="enclosure" href="/v/fish.mp4" type="video/mp4" length="1"/>
    <summary>Fish, chips.</summary>
    <content type="html">&lt;p&gt;Fish and &lt;a href="/chips"&gt;chips&lt;/a&gt;.&lt;/p&gt;&lt;img src="/f.jpg" alt="Fish"&gt;</content>
  </entry>
</feed>"""


def test_atom() -> None:
    feed = feeds.with_author(feeds.parse_feed(ATOM, "https://jo.example/feed.atom"))
    assert (feed.kind, feed.title, feed.description, feed.language) == ("atom", "Jo's log", "Small things", "nl")
    assert feed.icon == "https://jo.example/icon.png"
    item = feed.items[0]
    post = item.post
    assert item.url == "https://jo.example/2024/fish"
    assert post.title == "Fish & chips"
    assert post.uid == "tag:jo.example,2024:fish"
    assert post.published and post.published.isoformat() == "2024-01-05T19:00:00+01:00"
    assert post.updated and post.updated.isoformat() == "2024-01-06T08:00:00+01:00"
    assert post.in_reply_to == ("https://other.example/1",)
    assert post.categories == ("Food",)
    assert post.videos == (Media(url="https://jo.example/v/fish.mp4", mime_type="video/mp4"),)
    assert post.photos == (Media(url="https://jo.example/f.jpg", alt="Fish"),)
    assert 'href="https://jo.example/chips"' in (post.content_html or "")
    assert post.summary == "Fish, chips."
    assert post.author == Author(name="Jo", url="https://jo.example/")  # inherited from the feed
    assert post.language == "nl"
    assert feeds.profile_from_feed(feed).name == "Jo's log"


def test_json_feed() -> None:
    body = json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Jo", "home_page_url": "https://jo.example/",
        "authors": [{"name": "Jo", "url": "https://jo.example/", "avatar": "https://jo.example/me.png"}],
        "language": "en",
        "items": [{"id": "1", "url": "https://jo.example/1", "content_html": "<p>Hello <b>world</b></p>",
                   "date_published": "2024-02-02T10:00:00-08:00", "tags": ["hi"], "title": "",
                   "image": "https://jo.example/1.jpg",
                   "attachments": [{"url": "/a.mp3", "mime_type": "audio/mpeg"}]}],
    }).encode()
    feed = feeds.parse_feed(body, "https://jo.example/feed.json", "application/feed+json")
    post = feed.items[0].post
    assert feed.kind == "json" and feed.items[0].url == "https://jo.example/1"
    assert post.title is None and "title" in post.empty
    assert post.content_html == "<p>Hello <b>world</b></p>"
    assert post.published and post.published.isoformat() == "2024-02-02T10:00:00-08:00"
    assert post.author == Author(name="Jo", url="https://jo.example/", photo="https://jo.example/me.png")
    assert post.categories == ("hi",)
    assert post.featured == Media(url="https://jo.example/1.jpg")
    assert post.audio == (Media(url="https://jo.example/a.mp3", mime_type="audio/mpeg"),)


def test_not_a_feed() -> None:
    with pytest.raises(ValueError):
        feeds.parse_feed(b"<html><body>hello</body></html>", "https://jo.example/", "text/plain")
    with pytest.raises(ValueError):
        feeds.parse_feed(b'{"hello": 1}', "https://jo.example/x.json", "application/json")


def test_hfeed_items() -> None:
    home = microformats.parse_page((WP / "twentytwentyone" / "home.html").read_text(), "http://127.0.0.1:8765/")
    feed = feeds.feed_from_mf2(home)
    assert feed.kind == "h-feed" and len(feed.items) == 7
    titled = [t for t in published_posts() if t["title"]]
    assert {i.url for i in feed.items if i.url} == {t["permalink"] for t in titled}
    item = feed.find("http://127.0.0.1:8765/2019/07/03/what-five-courses-taught-me-about-learning/")
    assert item is not None and item.post.tags == ("certificates", "coursera", "deep learning", "study habits")


# --- over HTTP ---------------------------------------------------------------------------

@pytest.fixture
async def blog():
    server = await BlogServer.wordpress("twentytwentythree").start()
    yield server
    await server.stop()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession(headers={"User-Agent": user_agent("http://bridge.test/")}) as s:
        yield s


async def test_read_feed_then_poll_conditionally(blog: BlogServer, session: aiohttp.ClientSession) -> None:
    first = await reader.read_feed(session, FEED_URL)
    assert first.feed is not None and len(first.feed.items) == 7
    assert first.etag == '"8c70d1c811ccf0f888401d370f042750"'
    assert first.last_modified == "Fri, 02 Aug 2019 18:20:00 GMT"
    again = await reader.read_feed(session, FEED_URL, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.feed is None and again.etag == first.etag
    sent = blog.requests[-1].headers
    assert sent["If-None-Match"] == first.etag and sent["If-Modified-Since"] == first.last_modified
    assert sent["User-Agent"] == user_agent("http://bridge.test/")


async def test_discover_feed(blog: BlogServer, session: aiohttp.ClientSession) -> None:
    link = await reader.discover_feed(session, "http://127.0.0.1:8765/")
    assert link is not None and link.url == FEED_URL


async def test_discover_hfeed_when_no_feed_link(session: aiohttp.ClientSession) -> None:
    html = (Path(__file__).parent / "fixtures" / "mf2" / "hfeed.html").read_bytes()
    server = await BlogServer.from_files(
        {"http://127.0.0.1:8765/": (html, {"Content-Type": "text/html; charset=utf-8"})}).start()
    try:
        link = await reader.discover_feed(session, "http://127.0.0.1:8765/")
        assert link is not None and (link.url, link.type) == ("http://127.0.0.1:8765/", "text/html")
        result = await reader.read_feed(session, link.url)
        assert result.feed is not None and result.feed.kind == "h-feed"
        assert [i.url for i in result.feed.items] == ["https://jo.example/one", "https://jo.example/two"]
    finally:
        await server.stop()



# --- summaries, dates and authors of feeds that are not WordPress's ------------------------

def rss_items(items: str) -> list:
    body = ('<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Jo</title>'
            f'<link>https://jo.example/</link>{items}</channel></rss>').encode()
    return [item.post for item in feeds.parse_feed(body, "https://jo.example/index.xml").items]


def atom_entries(entries: str) -> list:
    body = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Jo</title>'
            f'<link href="https://jo.example/"/>{entries}</feed>').encode()
    return [item.post for item in feeds.parse_feed(body, "https://jo.example/atom.xml").items]


LONG = "word " * 220  # 1100 characters of text


def test_rss_description_is_a_summary_unless_it_is_clearly_the_post() -> None:
    posts = rss_items(
        "<item><title>Short</title><link>https://jo.example/1</link>"
        "<description>Just &lt;b&gt;a&lt;/b&gt; teaser.</description></item>"
        "<item><title>Hugo, full text</title><link>https://jo.example/2</link>"
        "<description>&lt;p&gt;One.&lt;/p&gt;\n&lt;p&gt;Two, &lt;a href=\"/x\"&gt;linked&lt;/a&gt;.&lt;/p&gt;"
        "</description></item>"
        f"<item><title>Long</title><link>https://jo.example/3</link><description>{LONG}</description></item>"
        "<item><title>Excerpt</title><link>https://jo.example/4</link>"
        "<description>&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two [&amp;#8230;]&lt;/p&gt;</description></item>"
        "<item><link>https://jo.example/5</link><description>A note, untitled.</description></item>"
        "<item><title>Both</title><link>https://jo.example/6</link><description>The summary.</description>"
        "<content:encoded><![CDATA[<p>The post.</p>]]></content:encoded></item>"
        "<item><title>Content only</title><link>https://jo.example/7</link>"
        "<content:encoded><![CDATA[<p>Only the post.</p>]]></content:encoded></item>")
    got = [(p.content_html, p.summary) for p in posts]
    assert got == [
        (None, "Just a teaser."),
        ('<p>One.</p>\n<p>Two, <a href="https://jo.example/x">linked</a>.</p>', None),
        (LONG.strip(), None),  # longer than FULL_TEXT_CHARS
        (None, "One.Two […]"),  # an excerpt mark: a summary however many paragraphs
        ("A note, untitled.", None),  # an untitled item's description is all of it
        ("<p>The post.</p>", "The summary."),
        ("<p>Only the post.</p>", None),  # feedparser's copy of the content is no summary
    ]
    assert posts[0].photos == () and posts[0].mentions == ()


def test_atom_summary_only_is_a_summary() -> None:
    [post] = atom_entries(
        '<entry><title>S</title><link href="https://jo.example/s"/><id>s</id>'
        '<published>2024-01-05T19:00:00+01:00</published>'
        '<summary type="html">&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two.&lt;/p&gt;</summary></entry>')
    assert (post.content_html, post.summary) == (None, "One.Two.")


def test_dates_a_modified_date_alone_is_the_published_one() -> None:
    """And the updated one: it is labelled "feed-updated" as the published date, so the
    page's or the permalink's own day outranks it (an edited post: bridge/blog/merge.py)."""
    only, same, both = atom_entries(
        '<entry><title>A</title><id>a</id><updated>2024-01-06T08:00:00+01:00</updated></entry>'
        '<entry><title>B</title><id>b</id><published>2024-01-06T08:00:00+01:00</published>'
        '<updated>2024-01-06T07:00:00Z</updated></entry>'
        '<entry><title>C</title><id>c</id><published>2024-01-06T08:00:00+01:00</published>'
        '<updated>2024-01-07T08:00:00+01:00</updated></entry>')
    plus_one = datetime.fromisoformat("2024-01-06T08:00:00+01:00")
    assert (only.published, only.updated) == (plus_one, plus_one) and only.sources["published"] == "feed-updated"
    assert (same.published, same.updated) == (plus_one, None)  # the same instant: not an update
    assert same.sources == {"_": "feed"}
    assert (both.published, both.updated) == (plus_one, datetime.fromisoformat("2024-01-07T08:00:00+01:00"))
    [dc] = rss_items("<item><title>D</title><dc:date>2019-03-05T10:00:00Z</dc:date></item>")
    assert (dc.published, dc.updated) == (datetime.fromisoformat("2019-03-05T10:00:00+00:00"),) * 2
    [hugo] = rss_items("<item><title>H</title><pubDate>Tue, 05 Mar 2019 10:30:00 -0700</pubDate></item>")
    assert hugo.published == datetime.fromisoformat("2019-03-05T10:30:00-07:00") and hugo.updated is None
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Jo", "items": [
        {"id": "1", "content_text": "x", "date_modified": "2024-02-02T10:00:00-08:00"}]}).encode()
    [item] = feeds.parse_feed(body, "https://jo.example/feed.json").items
    assert (item.post.published, item.post.updated) == (datetime.fromisoformat("2024-02-02T10:00:00-08:00"),) * 2
    assert item.post.sources == {"_": "feed", "published": "feed-updated"}


def test_rss_authors_names_not_addresses() -> None:
    posts = rss_items(
        "<item><title>1</title><dc:creator><![CDATA[Jo Bloggs]]></dc:creator></item>"
        "<item><title>2</title><author>jo@jo.example (Jo Bloggs)</author></item>"
        "<item><title>3</title><author>Jo Bloggs &lt;jo@jo.example&gt;</author></item>"
        "<item><title>4</title><author>jo@jo.example</author></item>"
        "<item><title>5</title><author>Jo Bloggs</author></item>")
    assert [p.author for p in posts] == [Author(name="Jo Bloggs")] * 3 + [None, Author(name="Jo Bloggs")]
    assert feeds.rss_author_name("mailto:jo@jo.example (Jo)") == "Jo"
    [atom] = atom_entries("<entry><title>A</title><id>a</id><author><name>Jo</name>"
                          "<email>jo@jo.example</email><uri>https://jo.example/</uri></author></entry>")
    assert atom.author == Author(name="Jo", url="https://jo.example/")
