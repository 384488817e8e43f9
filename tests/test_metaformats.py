"""<meta> tags → partial posts (bridge/blog/metaformats.py): authors, tags, keywords, sections."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup

from bridge.blog import metaformats
from bridge.blog.post import Author, Post

URL = "https://jo.example/posts/fish/"


def metas(head: str) -> dict[str, Post]:
    soup = BeautifulSoup(f"<html><head>{head}</head><body></body></html>", "lxml")
    return {p.sources["_"]: p for p in metaformats.posts_from_meta(soup, URL)}


def test_meta_author_and_keywords() -> None:
    found = metas('<meta name="author" content=" Jo Bloggs ">'
                  '<meta name="keywords" content="fish, Chips ,,fish, FISH, Friday night">'
                  '<meta name="keywords" content="chips, Vinegar">')
    assert found["meta"] == Post(author=Author(name="Jo Bloggs"),
                                 tags=("fish", "Chips", "Friday night", "Vinegar"))
    assert "opengraph" not in found


def test_keywords_only_without_article_tags() -> None:
    found = metas('<meta name="keywords" content="old, habit">'
                  '<meta property="article:tag" content="Fish"><meta property="article:tag" content="fish">'
                  '<meta property="article:tag" content="Chips">')
    assert found["opengraph"].tags == ("Fish", "Chips")
    assert "meta" not in found  # the keywords were all it had, and article:tag wins


def test_article_author_url_or_name() -> None:
    assert metas('<meta property="article:author" content="https://www.facebook.com/jo">')[
        "opengraph"].author == Author(url="https://www.facebook.com/jo")
    found = metas('<meta property="article:author" content="Jo"><meta name="author" content="J. Bloggs">')
    assert found["opengraph"].author == Author(name="Jo")
    assert found["meta"].author == Author(name="J. Bloggs")


def test_article_section_is_no_category() -> None:
    # Hugo writes the content section ("posts") there; Yoast the first category. Neither is
    # the post's categories (it used to become one: "posts" turned into a hashtag).
    found = metas('<meta property="article:section" content="posts">'
                  '<meta property="og:title" content="Fish">')
    assert found["opengraph"] == Post(title="Fish")
    assert found["opengraph"].categories == ()


def test_published_time_as_a_day() -> None:
    found = metas('<meta property="article:published_time" content="2021-04-02">'
                  '<meta property="article:modified_time" content="2021-04-03T10:00">')
    assert found["opengraph"] == Post(published=datetime(2021, 4, 2, tzinfo=UTC))
