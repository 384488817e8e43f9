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


@pytest.mark.parametrize("site_read", SITES, indirect=True)
def test_every_field_of_every_post_is_read_right(site_read: list[tuple[dict[str, Any], ReadResult]]) -> None:
    wrong = {truth["url"]: diff for truth, read in site_read if (diff := differences(read.post, truth))}
    assert wrong == {}
