"""A blog post and its author as the bridge understands them, whatever the blog's markup.

These dataclasses are what crosses module boundaries: raw mf2 dicts, feed entries and
WordPress JSON are converted into them on arrival (bridge/blog/microformats.py, feeds.py,
wordpress.py, metaformats.py) and merged field by field (bridge/blog/merge.py).

The same `Post` carries a *partial* post (what one source says) and the merged post.
In a partial post `None` or `()` means "this source does not say"; a field named in
`empty` means "this source says there is none" (WordPress's REST API returning an empty
title is evidence that the post is untitled, not a gap to fill).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Where a value came from. The merge ranks these per field (bridge/blog/merge.py).
SOURCES = (
    "config",  # an operator override (profiles only)
    "mf2",  # microformats2 classes on the page
    "mf1",  # legacy microformats (hentry, vcard) through mf2py's backcompat
    "wp-rest",  # the WordPress REST API JSON the page links to
    "feed",  # the blog's RSS/Atom/JSON Feed/h-feed item for the page
    "oembed",  # the oEmbed JSON the page links to
    "json-ld",  # schema.org JSON-LD in <script type="application/ld+json">
    "opengraph",  # og:* / article:* / twitter:* meta tags (metaformats)
    "meta",  # <title>, <meta name=description>, <html lang>, <link rel=icon>
    "rel-canonical",  # <link rel=canonical>
    "html",  # the page's visible markup: main article body, byline, tag links (bridge/blog/article.py)
    "url",  # a date in the permalink's path (/2018/01/27/slug/: Jekyll's, WordPress's defaults)
    "feed-updated",  # a feed item's modified date standing in for its missing published date
    "fetch-url",  # the URL the page was finally fetched from, after redirects
)


@dataclass(frozen=True)
class Media:
    """An image, video or audio file: its URL, its alt text, its type if known."""

    url: str
    alt: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Link:
    """A typed link a page or a response declares (<link>, <a rel>, or an HTTP Link header)."""

    url: str
    rels: tuple[str, ...]
    type: str | None = None
    title: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Author:
    """Who wrote a post, as far as the sources tell."""

    name: str | None = None
    url: str | None = None
    photo: str | None = None

    def is_empty(self) -> bool:
        return not (self.name or self.url or self.photo)


@dataclass(frozen=True)
class Mention:
    """A link in the content to a person's (fediverse) profile."""

    url: str
    name: str | None = None


@dataclass(frozen=True)
class Post:
    """One blog post, normalised. Datetimes are timezone-aware; URLs are absolute."""

    url: str | None = None  # the canonical permalink
    uid: str | None = None  # u-uid / feed guid, when the blog gives one
    title: str | None = None  # a real title: None for notes and untitled posts
    content_html: str | None = None  # cleaned: absolute URLs, no theme chrome
    summary: str | None = None  # plain text; an automatic excerpt is not a summary
    published: datetime | None = None
    updated: datetime | None = None
    author: Author | None = None
    categories: tuple[str, ...] = ()  # visible names, not URL slugs
    tags: tuple[str, ...] = ()  # WordPress tags, kept apart from its categories
    photos: tuple[Media, ...] = ()  # u-photo, then images in the content
    featured: Media | None = None  # the featured image (WordPress, u-featured, og:image)
    videos: tuple[Media, ...] = ()
    audio: tuple[Media, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    like_of: tuple[str, ...] = ()
    repost_of: tuple[str, ...] = ()
    bookmark_of: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()
    language: str | None = None  # BCP 47, e.g. "en-US"
    # Provenance: field name ("title", "author.name", …) -> one of SOURCES.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Fields this (partial) post affirms are empty; see the module docstring.
    empty: frozenset[str] = field(default=frozenset(), compare=False, hash=False)

    def all_categories(self) -> tuple[str, ...]:
        """Categories then tags, without repeats: what becomes hashtags."""
        seen: dict[str, None] = {}
        for name in (*self.categories, *self.tags):
            seen.setdefault(name, None)
        return tuple(seen)

    def images(self) -> tuple[Media, ...]:
        """The featured image, then the photos that are not another size of it."""
        out: list[Media] = []
        keys: set[str] = set()
        for media in ((self.featured,) if self.featured else ()) + self.photos:
            key = image_key(media.url)
            if key not in keys:
                keys.add(key)
                out.append(media)
        return tuple(out)

    def fingerprint(self) -> str:
        """A stable hash of what the post says (not where it came from), to detect edits."""
        return _fingerprint(post_to_dict(self))


@dataclass(frozen=True)
class Profile:
    """The blog as a fediverse actor: who it is, its pictures, its links."""

    url: str | None = None  # the profile's home page
    name: str | None = None  # display name: the author's, else the site's
    summary: str | None = None  # bio, plain text
    icon: Media | None = None  # avatar
    header: Media | None = None  # banner image
    links: tuple[str, ...] = ()  # rel=me links
    site_name: str | None = None
    feed_url: str | None = None
    language: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    empty: frozenset[str] = field(default=frozenset(), compare=False, hash=False)

    def fingerprint(self) -> str:
        """A stable hash of what the profile says, to detect a changed profile."""
        return _fingerprint(profile_to_dict(self))


def image_key(url: str) -> str:
    """The URL of an image without WordPress's size suffix ("-1024x683", "-scaled").

    WordPress names each resized copy NAME-WxH.EXT next to the original
    (wp-includes/media.php, image_make_intermediate_size); two URLs with the
    same key are one picture in two sizes.
    """
    stem, dot, ext = url.rpartition(".")
    if not dot or "/" in ext:
        return url
    for suffix in ("-scaled",):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    head, dash, size = stem.rpartition("-")
    if dash and "x" in size:
        width, _, height = size.partition("x")
        if width.isdigit() and height.isdigit():
            stem = head
    return f"{stem}.{ext}"


# Go's default time format, which Hugo prints for a bare `{{ .Date }}`:
# "2019-03-05 10:30:00 -0700 MST", "… +0000 UTC", "… +0300 +03" (no abbreviation known).
_GO_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})(?: (?:[A-Za-z]{1,6}|[+-]\d{2,4}))?")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 date-time with an offset (or Go's default format), else None.

    mf2py writes offsets without a colon ("-0400"); Python 3.11's fromisoformat reads
    both. Go's "2019-03-05 10:30:00 -0700 MST" is read by its numeric offset (the zone
    abbreviation is ignored). A date-time without an offset names no instant, so it is
    not guessed here: another source (the REST API, the feed) usually has the real one.
    A date alone is None too; see parse_date_or_datetime for where a date is enough.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if go := _GO_TIME.fullmatch(text):
        day, clock, fraction, offset = go.groups()
        text = f"{day}T{clock}{(fraction or '')[:7]}{offset}"
    elif text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_date_or_datetime(value: object) -> datetime | None:
    """parse_datetime, and a bare "YYYY-MM-DD" as midnight UTC of that day.

    For values that are the post's own date where themes often print the day only:
    a JSON-LD datePublished, a `<time datetime="2021-04-02">` in a post page's byline,
    article:published_time. Midnight UTC is a convention (the day is right, the hour is
    not known); a source with a full date-time outranks it. Where a value is one of
    several candidates for an instant (mf2 dt-published, feeds, the REST API, AS2) use
    parse_datetime. A date-time without an offset is None here too.
    """
    parsed = parse_datetime(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    text = value.strip()
    if not _DATE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_PATH_DATE = re.compile(r"/((?:19|20)\d\d)/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/")


def date_in_path(url: str) -> datetime | None:
    """The day a permalink's path names (`/2018/01/27/slug.html`), as midnight UTC."""
    found = _PATH_DATE.search(urlsplit(url).path)
    if found is None:
        return None
    try:
        return datetime(*(int(part) for part in found.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:  # 2023/02/30
        return None


def normalize_url(url: str) -> str:
    """A URL for comparisons: lower-case scheme and host, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a port out of range or not a number: compare it as written
        port, host = None, parts.netloc.lower()
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


def same_url(a: str | None, b: str | None) -> bool:
    """Whether two URLs name the same page (see normalize_url)."""
    return bool(a and b) and normalize_url(a) == normalize_url(b)  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (Media, Author, Mention)):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _to_dict(value: Post | Profile) -> dict[str, Any]:
    return {
        f.name: _jsonable(getattr(value, f.name))
        for f in fields(value)
        if f.name not in ("sources", "empty")
    }


def _fingerprint(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def post_to_dict(post: Post) -> dict[str, Any]:
    """The post's fields as JSON-ready values (ISO 8601 dates with offset), no provenance."""
    return _to_dict(post)


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The profile's fields as JSON-ready values, no provenance."""
    return _to_dict(profile)


def _media(value: object) -> Media | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("url"), str):
        return None
    return Media(url=value["url"], alt=value.get("alt"), mime_type=value.get("mime_type"))


def _medias(value: object) -> tuple[Media, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(m for m in (_media(v) for v in value) if m is not None)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def post_from_dict(data: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> Post:
    """The inverse of post_to_dict (a stored `BlogPost.data`), with its provenance if given.

    Lenient: a missing or mistyped field reads as absent, so rows written by an
    older version still load.
    """
    author = data.get("author")
    raw_mentions = data.get("mentions")
    mentions: list[Any] = raw_mentions if isinstance(raw_mentions, list) else []
    return Post(
        url=_text(data.get("url")),
        uid=_text(data.get("uid")),
        title=_text(data.get("title")),
        content_html=_text(data.get("content_html")),
        summary=_text(data.get("summary")),
        published=parse_datetime(data.get("published")),
        updated=parse_datetime(data.get("updated")),
        author=Author(name=_text(author.get("name")), url=_text(author.get("url")), photo=_text(author.get("photo")))
        if isinstance(author, Mapping) else None,
        categories=_strings(data.get("categories")),
        tags=_strings(data.get("tags")),
        photos=_medias(data.get("photos")),
        featured=_media(data.get("featured")),
        videos=_medias(data.get("videos")),
        audio=_medias(data.get("audio")),
        in_reply_to=_strings(data.get("in_reply_to")),
        like_of=_strings(data.get("like_of")),
        repost_of=_strings(data.get("repost_of")),
        bookmark_of=_strings(data.get("bookmark_of")),
        mentions=tuple(Mention(url=m["url"], name=_text(m.get("name")))
                       for m in mentions if isinstance(m, Mapping) and isinstance(m.get("url"), str)),
        language=_text(data.get("language")),
        sources=dict(sources or {}),
    )


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    """The inverse of profile_to_dict (a stored `BlogState.profile`; its "sources" kept)."""
    sources = data.get("sources")
    return Profile(
        url=_text(data.get("url")),
        name=_text(data.get("name")),
        summary=_text(data.get("summary")),
        icon=_media(data.get("icon")),
        header=_media(data.get("header")),
        links=_strings(data.get("links")),
        site_name=_text(data.get("site_name")),
        feed_url=_text(data.get("feed_url")),
        language=_text(data.get("language")),
        sources=dict(sources) if isinstance(sources, Mapping) else {},
    )


def post_type(post: Post) -> str:
    """Post Type Discovery (https://www.w3.org/TR/post-type-discovery/), simplified.

    Answers one of: repost, like, reply, bookmark, video, photo, article, note.
    """
    if post.repost_of:
        return "repost"
    if post.like_of:
        return "like"
    if post.in_reply_to:
        return "reply"
    if post.bookmark_of:
        return "bookmark"
    if post.videos:
        return "video"
    if post.photos and not post.title:
        return "photo"
    return "article" if post.title else "note"
