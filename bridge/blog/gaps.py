"""What the reader could not find on a post, where it looked, and what the blog can add.

`bridge check` and `bridge inspect` say it in one line a field ("no author on post pages:
looked in … ; add <meta name="author"> or an h-card"), so a blogger on any engine knows
which one line of their theme to change. Pure: a merged `Post` in, `Gap`s out. The places
listed are the sources of bridge/blog/merge.py, in its order, worded for people.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.blog.post import Post


@dataclass(frozen=True, slots=True)
class Gap:
    what: str  # the field, as people say it
    looked: tuple[str, ...]  # where the reader looked, best source first
    advice: str  # the simplest addition that fills it

    def line(self) -> str:
        return f"no {self.what} on post pages (looked in: {', '.join(self.looked)}): {self.advice}"


_CONTENT = Gap("content", (
    "the h-entry's e-content", "WordPress's REST API", "the feed item (full text)",
    "the page's article body"),
    'mark the post\'s body with class="e-content" inside class="h-entry", or put the full text in the feed')
_PUBLISHED = Gap("date", (
    "the h-entry's dt-published", "WordPress's REST API", "the feed item", "JSON-LD datePublished",
    "article:published_time", "a <time datetime> in the article"),
    'add <time class="dt-published" datetime="2026-01-31T10:00:00+00:00"> (with its offset) to the post')
_AUTHOR = Gap("author", (
    "the h-entry's p-author h-card", "WordPress's REST API", "the feed item's author", "JSON-LD author",
    "article:author", '<meta name="author">', "a rel=author or itemprop=author byline"),
    'add <meta name="author" content="Your Name"> or an h-card (class="p-author h-card")')
_PHOTO = Gap("author picture", (
    "the author's h-card (u-photo)", "WordPress's REST API", "JSON-LD author image",
    "the home page's h-card"),
    "add a u-photo to the author's h-card, or set avatar in [[blogs]]")


def gaps(post: Post, *, profile_icon: bool = False) -> list[Gap]:
    """The fields a post should have and lacks: content, date, author, author picture
    (unless the blog's profile has one: `profile_icon`). A title is not among them:
    notes have none."""
    out = []
    if not post.content_html:
        out.append(_CONTENT)
    if post.published is None:
        out.append(_PUBLISHED)
    if post.author is None or not post.author.name:
        out.append(_AUTHOR)
    if (post.author is None or not post.author.photo) and not profile_icon:
        out.append(_PHOTO)
    return out
