"""What `bridge check` and `bridge inspect` say a post lacks (bridge/blog/gaps.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.blog.gaps import gaps
from bridge.blog.post import Author, Post

WHEN = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def test_a_complete_post_lacks_nothing_and_a_title_is_never_asked_for() -> None:
    post = Post(content_html="<p>Hi</p>", published=WHEN, author=Author(name="Jo", photo="https://b.example/jo.png"))
    assert gaps(post) == []


def test_each_gap_says_where_the_reader_looked_and_what_to_add() -> None:
    lines = [gap.line() for gap in gaps(Post())]
    assert [line.split(" (")[0] for line in lines] == [
        "no content on post pages", "no date on post pages", "no author on post pages",
        "no author picture on post pages"]
    author = lines[2]
    assert "JSON-LD author" in author and '<meta name="author">' in author and "byline" in author
    assert author.endswith('add <meta name="author" content="Your Name"> or an h-card (class="p-author h-card")')
    assert "e-content" in lines[0] and "the feed item (full text)" in lines[0]


def test_a_profile_picture_stands_in_for_the_author_picture() -> None:
    post = Post(content_html="<p>Hi</p>", published=WHEN, author=Author(name="Jo"))
    assert [g.what for g in gaps(post)] == ["author picture"]
    assert gaps(post, profile_icon=True) == []
