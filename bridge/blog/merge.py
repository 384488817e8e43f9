"""Merging what several sources say about a post (or a profile), field by field.

Each partial post is labelled with its source (`sources["_"]`, or per field). For every
field the sources are tried in the order below; the first that gives a value wins, and
the merged post remembers where each value came from. A source that affirms a field is
empty (`Post.empty`) stops the search with "none".

Why this order: the page's own microformats are what the author published; WordPress's
REST API is what the blog stores and fills what themes leave out; the feed next (written
for machines, by the blog itself); then schema.org JSON-LD (structured, but written for
search engines) and oEmbed; the <head> tags, because SEO plugins write generic values
there; last the page's visible markup read without classes (bridge/blog/article.py: the
article body, a byline, tag links, a cover), a guess, but better than nothing: it is what
a Hugo theme without microformats and with a summary-only feed offers.
Two checks follow, because some sources repeat the content in other fields:
- a title that is only the start of the content is an implied name, not a title;
- a summary that is only the start of the content is an automatic excerpt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime, time, timedelta
from typing import Any

from bridge.blog import content as content_html
from bridge.blog.metaformats import unique_names
from bridge.blog.post import Author, Media, Post, Profile, same_url
from bridge.config import BlogConfig

POST_ORDER: tuple[str, ...] = (
    "mf2", "mf1", "wp-rest", "feed", "json-ld", "oembed", "opengraph", "meta", "html", "rel-canonical",
    "fetch-url",
)
# Fields whose order differs from POST_ORDER, and why.
POST_FIELD_ORDER: Mapping[str, tuple[str, ...]] = {
    # Labels the page shows (links to /tags/x/, /categories/x/) before the ones it only
    # declares to search engines (keywords, article:tag).
    "categories": ("mf2", "mf1", "wp-rest", "html", "feed", "json-ld", "opengraph", "meta"),
    "tags": ("mf2", "mf1", "wp-rest", "html", "feed", "json-ld", "opengraph", "meta"),
    # A feed item's modified date standing in for its published one comes after every
    # source of the post's own day, the permalink's path included (an edited post).
    "published": ("mf2", "mf1", "wp-rest", "feed", "json-ld", "oembed", "opengraph", "meta", "html", "url",
                  "feed-updated"),
    # The permalink: u-url, else rel=canonical, else what the blog's data says, else
    # the URL the page was finally fetched from (the order).
    "url": ("mf2", "mf1", "rel-canonical", "wp-rest", "opengraph", "feed", "oembed", "fetch-url"),
}
# Theme-printed titles that may be placeholders ("Untitled" in Twenty Twenty-One, in the
# page and in the feed): kept only when the page's <title> shows them too.
_PLACEHOLDER_PRONE = frozenset({"mf1", "feed"})
_HEAD_SOURCES = frozenset({"oembed", "opengraph", "meta"})

PROFILE_FIELD_ORDER: Mapping[str, tuple[str, ...]] = {
    # The authorship algorithm first (h-card, or WordPress's user, the entry's author),
    # then the site, then the feed, then oEmbed (the order).
    "name": ("config", "mf2", "mf1", "wp-rest", "opengraph", "meta", "feed", "oembed"),
    "summary": ("config", "mf2", "mf1", "wp-rest", "opengraph", "meta", "feed"),
    "icon": ("config", "mf2", "mf1", "wp-rest", "meta", "feed"),
    "header": ("config", "mf2", "mf1"),
    "links": ("config", "mf2", "mf1"),
    "url": ("config", "mf2", "mf1", "fetch-url", "feed", "wp-rest", "oembed"),
    "site_name": ("config", "opengraph", "meta", "feed", "oembed"),
    "feed_url": ("config", "feed", "meta"),
    "language": ("config", "mf2", "mf1", "meta", "feed", "opengraph"),
}
_AUTHOR_PARTS = ("name", "url", "photo")


def _label(candidate: Post | Profile, name: str) -> str | None:
    return candidate.sources.get(name) or candidate.sources.get("_")


def _has(value: Any) -> bool:
    return value not in (None, "", ())


def _ranked(candidates: Sequence[Any], name: str, order: Sequence[str]) -> list[tuple[str, Any]]:
    """(label, candidate) pairs whose label is in `order`, best first, stable."""
    rank = {label: i for i, label in enumerate(order)}
    pairs = [(_label(c, name), c) for c in candidates]
    kept = [(label, c) for label, c in pairs if label in rank]
    return sorted(kept, key=lambda pair: rank[pair[0]])


def _pick(candidates: Sequence[Any], name: str, order: Sequence[str],
          accept: Any = None) -> tuple[Any, str | None]:
    """The first value for a field, and its source; (None, source) if affirmed empty."""
    for label, candidate in _ranked(candidates, name, order):
        value = getattr(candidate, name)
        if _has(value) and (accept is None or accept(label, value)):
            return value, label
        if name in candidate.empty:
            return None, label
    return None, None


def _compatible(a: Author, b: Author) -> bool:
    """Whether two sources' authors can be the same person (so parts may be combined)."""
    if a.name and b.name:
        return a.name.casefold() == b.name.casefold()
    if a.url and b.url:
        return same_url(a.url, b.url)
    return True


def _merge_author(candidates: Sequence[Post]) -> tuple[Author | None, dict[str, str]]:
    ranked = [(label, c.author) for label, c in _ranked(candidates, "author", POST_ORDER)
              if c.author is not None and not c.author.is_empty()]
    if not ranked:
        return None, {}
    first = ranked[0][1]
    parts: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, author in ranked:
        if author is not first and not _compatible(first, author):
            continue
        for part in _AUTHOR_PARTS:
            value = getattr(author, part)
            if part not in parts and value:
                parts[part] = value
                sources[f"author.{part}"] = label
    return Author(**parts), sources


def _date_only(value: datetime) -> bool:
    """A date read from a date alone (`<time datetime="2021-04-02">`): midnight UTC."""
    return value.utcoffset() == timedelta(0) and value.timetz().replace(tzinfo=None) == time(0)


def _refined_date(value: Any, candidates: Sequence[Post], order: Sequence[str]) -> tuple[datetime, str] | None:
    """A date-only value made exact by another source's date-time of the same day (the
    page says 2021-04-02, the feed 2021-04-02T06:40:00+01:00), and that source; else None."""
    if not isinstance(value, datetime) or not _date_only(value):
        return None
    for label, candidate in _ranked(candidates, "published", order):
        for other in (candidate.published, candidate.updated):
            if other is not None and not _date_only(other) and other.date() == value.date():
                return other, label
    return None


def merge_posts(candidates: Iterable[Post], *, page_title: str | None = None) -> Post:
    """One post from partial posts, with `sources` naming where each field came from.

    `page_title` is the page's <title>: a title from a placeholder-prone source (mf1
    markup, the feed) must appear in it to count.
    """
    candidates = [c for c in candidates if c is not None]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    squashed_title = content_html.squash(page_title or "").casefold()

    rejected: list[str] = []

    def title_ok(label: str, value: str) -> bool:
        if label in _PLACEHOLDER_PRONE and squashed_title:
            if content_html.squash(value).casefold() not in squashed_title:
                rejected.append(label)
                return False
        # Once the entry's own title was found to be a placeholder, the page's <title>
        # (the evidence for that) cannot stand in for it: the post is untitled.
        return not (rejected and label in _HEAD_SOURCES)

    for f in fields(Post):
        if f.name in ("sources", "empty", "author"):
            continue
        order = POST_FIELD_ORDER.get(f.name, POST_ORDER)
        value, label = _pick(candidates, f.name, order, title_ok if f.name == "title" else None)
        if label is not None:
            sources[f.name] = label
        if value is not None:
            values[f.name] = value
    for name in ("published", "updated"):
        if (refined := _refined_date(values.get(name), candidates, POST_FIELD_ORDER.get(name, POST_ORDER))):
            values[name], sources[name] = refined
    for name in ("categories", "tags"):
        if values.get(name):
            values[name] = unique_names(label.lstrip("#") for label in values[name])
    author, author_sources = _merge_author(candidates)
    if author is not None:
        values["author"] = author
        sources.update(author_sources)

    text = content_html.text_of(values["content_html"]) if values.get("content_html") else ""
    body = content_html.squash(text)
    title = values.get("title")
    if title and body and body.startswith(content_html.squash(title)):
        del values["title"]
        sources.pop("title", None)
    summary = values.get("summary")
    if summary and content_html.is_excerpt_of(summary, text):
        del values["summary"]
        sources.pop("summary", None)
    return Post(**values, sources=sources)


def merge_profiles(candidates: Iterable[Profile]) -> Profile:
    """One profile from partial profiles, with per-field `sources`."""
    candidates = [c for c in candidates if c is not None]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in fields(Profile):
        if f.name in ("sources", "empty"):
            continue
        value, label = _pick(candidates, f.name, PROFILE_FIELD_ORDER.get(f.name, ()))
        if value is not None:
            values[f.name] = value
        if label is not None:
            sources[f.name] = label
    if values.get("links"):
        values["links"] = tuple(u for u in values["links"] if not same_url(u, values.get("url")))
    return Profile(**values, sources=sources)


def profile_from_author(post: Post) -> Profile | None:
    """The merged post's author as a profile candidate, keeping each part's source."""
    author = post.author
    if author is None or author.is_empty():
        return None
    sources = {"name": post.sources.get("author.name"), "url": post.sources.get("author.url"),
               "icon": post.sources.get("author.photo")}
    return Profile(url=author.url, name=author.name,
                   icon=Media(url=author.photo) if author.photo else None,
                   sources={k: v for k, v in sources.items() if v})


def with_overrides(profile: Profile, *, name: str | None = None, summary: str | None = None,
                   icon: str | None = None, header: str | None = None) -> Profile:
    """The profile with the operator's configured values, which win (source "config")."""
    changes: dict[str, Any] = {}
    if name:
        changes["name"] = name
    if summary:
        changes["summary"] = summary
    if icon:
        changes["icon"] = Media(url=icon)
    if header:
        changes["header"] = Media(url=header)
    if not changes:
        return profile
    return replace(profile, **changes, sources={**profile.sources, **dict.fromkeys(changes, "config")})


def with_blog_overrides(profile: Profile, blog: BlogConfig) -> Profile:
    """The profile with what the blog's config sets (display_name, bio, avatar, header)."""
    return with_overrides(profile, name=blog.display_name, summary=blog.bio, icon=blog.avatar, header=blog.header)
