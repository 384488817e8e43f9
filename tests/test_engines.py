"""Issue 18: blogs of every engine read right, field by field, with no setup on the blog.

Nine small blogs of ours built by the real engines (Hugo 0.111, Jekyll 4.3, Eleventy 3.1;
tests/fixtures/engines/README.md says which markup pattern each reproduces): three with
microformats2, four with only OpenGraph / JSON-LD / <meta>, two with plain HTML and a feed.
Each post is read as `bridge publish URL` reads it (the page, then what the page and the
blog's home page point to), and compared with the truth taken from the site's *source*
(front matter and Markdown), never from the HTML.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bridge.blog.post import Post
from bridge.config import Config
from bridge.publish.reader import ReadResult, read_post
from bridge.app import new_http_session

from .blogserver import BlogServer, paragraphs
from .engines import SITES, engine_routes, engine_truth

FIELDS = ("title", "published", "updated", "author", "labels", "image", "in_reply_to", "content")


def _names(values: Any) -> list[str]:
    return sorted(v.casefold() for v in values)


def differences(post: Post, truth: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (what was read, the truth)} for every field read wrong."""
    author = post.author
    got: dict[str, Any] = {
        "title": post.title,
        "published": post.published,
        "updated": post.updated if post.updated != post.published else None,
        "author": {"name": author.name if author else None,
                   "url": (author.url if author else None) if truth["author"]["url"] else None},
        "labels": _names({*post.tags, *post.categories}),
        "image": truth["image"] if truth["image"] and truth["image"] in {
            m.url for m in (post.featured, *post.photos) if m is not None} else
        (post.featured.url if post.featured else None),
        "in_reply_to": post.in_reply_to[0] if post.in_reply_to else None,
        "content": paragraphs(post.content_html or ""),
    }
    want: dict[str, Any] = {
        "title": truth["title"],
        "published": datetime.fromisoformat(truth["published"]),
        "updated": datetime.fromisoformat(truth["updated"]) if truth["updated"] else None,
        "author": truth["author"],
        "labels": _names({*truth["tags"], *truth["categories"]}),
        "image": truth["image"],
        "in_reply_to": truth["in_reply_to"],
        "content": truth["content_paragraphs_text"],
    }
    for name in ("published", "updated"):  # a page that shows the date alone is read as that day
        if got[name] is not None and want[name] is not None and _date_only(got[name]) and \
                got[name].date() == want[name].date():
            got[name] = want[name]
    return {name: (got[name], want[name]) for name in FIELDS if got[name] != want[name]}


def _date_only(value: datetime) -> bool:
    return value.utcoffset() == timedelta(0) and (value.hour, value.minute, value.second) == (0, 0, 0)


@pytest.fixture(scope="module")
def readings() -> dict[str, list[tuple[dict[str, Any], ReadResult]]]:
    return {}


async def read_site(site: str, config: Config) -> list[tuple[dict[str, Any], ReadResult]]:
    truth = engine_truth(site)
    server = await BlogServer(routes=engine_routes(site)).start()
    try:
        async with new_http_session(config) as session:
            return [(post, await read_post(session, post["url"], home_url=truth["home"]))
                    for post in truth["posts"]]
    finally:
        await server.stop()


@pytest.fixture
async def site_read(request: pytest.FixtureRequest, config: Config) -> AsyncIterator[
        list[tuple[dict[str, Any], ReadResult]]]:
    yield await read_site(request.param, config)


# What a site's source says but none of its pages or feeds publish: no reader can know it.
UNPUBLISHED = {("hugo-plain", "/posts/the-bread-i-keep-baking/", "updated")}  # `lastmod` shown nowhere


@pytest.mark.parametrize("site_read", SITES, indirect=True)
def test_every_field_of_every_post_is_read_right(site_read: list[tuple[dict[str, Any], ReadResult]]) -> None:
    site = engine_truth_site(site_read)
    wrong = {}
    for truth, read in site_read:
        path = truth["url"].removeprefix("http://127.0.0.1:8765")
        diff = {f: d for f, d in differences(read.post, truth).items() if (site, path, f) not in UNPUBLISHED}
        if diff:
            wrong[path] = diff
    assert wrong == {}


def engine_truth_site(site_read: list[tuple[dict[str, Any], ReadResult]]) -> str:
    first_url = site_read[0][0]["url"]
    return next(site for site in SITES if any(p["url"] == first_url for p in engine_truth(site)["posts"]))


async def read_one(site: str, path: str, config: Config) -> ReadResult:
    truth = engine_truth(site)
    server = await BlogServer(routes=engine_routes(site)).start()
    try:
        async with new_http_session(config) as session:
            return await read_post(session, f"http://127.0.0.1:8765{path}", home_url=truth["home"])
    finally:
        await server.stop()


def sources(read: ReadResult, *names: str) -> dict[str, str | None]:
    return {name: read.post.sources.get(name) for name in names}


# One test a pattern of the issue, each on a site that has it and nothing else to fall
# back on: the value and where it came from.

async def test_no_h_entry_and_a_summary_feed_linked_from_the_home_page_only(config: Config) -> None:
    """Hugo (PaperMod-like): the post page links no feed; the home page's is found; its
    items carry a summary, so the content is the page's article body, chrome left out."""
    read = await read_one("hugo-og", "/posts/a-week-without-notifications/", config)
    assert [u.removeprefix("http://127.0.0.1:8765") for u in read.fetched] == [
        "/posts/a-week-without-notifications/", "/", "/index.xml"]
    assert sources(read, "content_html", "published", "title") == {
        "content_html": "html", "published": "feed", "title": "feed"}
    html = read.post.content_html or ""
    assert not any(chrome in html for chrome in ("share", "comments", "<nav", "<footer", "Next", "Prev"))


@pytest.mark.parametrize(("site", "path", "where"), [
    ("hugo-og", "/posts/small-pull-requests-kind-reviews/", ("meta", None)),  # <meta name="author">
    ("hugo-jsonld", "/posts/counting-bees-on-the-lavender/", ("json-ld", "json-ld")),
    ("jekyll-seo", "/2020/07/30/cycling-around-bornholm/", ("feed", None)),  # and an itemprop byline
    ("eleventy-meta", "/blog/the-slug-census/", ("feed", "html")),  # the url from <a rel=author>
    ("hugo-plain", "/posts/fixing-a-dripping-tap/", ("feed", None)),  # RSS <author>email (Name)</author>
])
async def test_the_author_from_meta_json_ld_a_byline_or_the_feed(
    config: Config, site: str, path: str, where: tuple[str | None, str | None],
) -> None:
    read = await read_one(site, path, config)
    [truth] = [p for p in engine_truth(site)["posts"] if p["url"] == read.url]
    author = read.post.author
    assert author is not None and (author.name, author.url) == (truth["author"]["name"], truth["author"]["url"])
    assert (read.post.sources.get("author.name"), read.post.sources.get("author.url")) == where


async def test_json_ld_blogposting(config: Config) -> None:
    read = await read_one("hugo-jsonld", "/posts/soil-moisture-sensors-six-months-in/", config)
    [truth] = [p for p in engine_truth("hugo-jsonld")["posts"] if p["url"] == read.url]
    assert read.post.updated == datetime.fromisoformat(truth["updated"]) and read.post.sources["updated"] == "json-ld"
    assert read.post.featured is not None and read.post.featured.url == truth["image"]
    assert read.post.sources["featured"] == "json-ld"
    assert _names({*read.post.tags, *read.post.categories}) == _names(truth["tags"])


@pytest.mark.parametrize(("site", "path", "published", "where"), [
    # Go's default time format in dt-published (Hugo's {{ .Date }}).
    ("hugo-mf2", "/posts/rebuilding-the-boat-shed/", None, "mf2"),
    # <time class="dt-published" datetime="2021-04-02">: that day.
    ("jekyll-mf2", "/2021/04/dawn-chorus-at-the-reservoir/", "2021-04-02T00:00:00+00:00", "mf2"),
    # An Atom item with <updated> only, edited later: the day in the permalink wins.
    ("jekyll-plain", "/tools/2018/01/27/sharpening-finally-explained.html", "2018-01-27T00:00:00+00:00", "url"),
])
async def test_dates_go_format_date_only_and_atom_updated(
    config: Config, site: str, path: str, published: str | None, where: str,
) -> None:
    read = await read_one(site, path, config)
    [truth] = [p for p in engine_truth(site)["posts"] if p["url"] == read.url]
    assert read.post.published == datetime.fromisoformat(published or truth["published"])
    assert read.post.sources["published"] == where


async def test_labels_shown_are_read_and_a_section_is_no_category(config: Config) -> None:
    read = await read_one("hugo-og", "/posts/why-i-still-write-makefiles/", config)
    [truth] = [p for p in engine_truth("hugo-og")["posts"] if p["url"] == read.url]
    assert read.post.categories == () and "posts" not in _names(read.post.tags)  # article:section = posts
    assert _names(read.post.tags) == _names(truth["tags"])
    bare = await read_one("eleventy-meta", "/blog/broad-beans-in-november/", config)  # /tags/x/ without rel=tag
    [truth] = [p for p in engine_truth("eleventy-meta")["posts"] if p["url"] == bare.url]
    assert _names(bare.post.tags) == _names(truth["tags"]) and bare.post.sources["tags"] == "html"


async def test_mf2_an_untitled_note_and_a_reply_on_a_paragraph(config: Config) -> None:
    note = await read_one("hugo-mf2", "/posts/note-2019-03-18/", config)
    assert note.post.title is None and "title" not in note.post.sources  # p-name e-content on one element
    reply = await read_one("hugo-mf2", "/posts/reply-tide-apps/", config)
    assert reply.post.in_reply_to == ("https://example.social/@marta/1021",)  # never the page's URL + text


async def test_images_a_css_cover_and_a_picture_as_one_photo(config: Config) -> None:
    cover = await read_one("jekyll-seo", "/2019/09/22/the-night-train-to-stockholm/", config)
    assert cover.post.featured is not None and cover.post.featured.url == "http://127.0.0.1:8765/img/night-train.jpg"
    assert cover.post.sources["featured"] == "html"  # background-image on the post header, nowhere else
    picture = await read_one("hugo-mf2", "/posts/winter-light-over-the-harbour/", config)
    assert len(picture.post.photos) == 1 and picture.post.content_html is not None
    assert picture.post.content_html.count("<img") == 1
