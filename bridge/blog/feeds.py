"""The blog's feed: discovering it, and turning its items into partial posts.

RSS and Atom are read by feedparser (well kept, tolerant of the feeds real blogs
write); JSON Feed, which feedparser does not read, is plain JSON mapped by hand
(https://www.jsonfeed.org/version/1.1/); an h-feed comes from bridge/blog/microformats.py.
Pure: bytes or a parsed page in, dataclasses out.

Content or summary? An item claims `content_html` only when it carries the post itself:
RSS `<content:encoded>`, Atom `<content>`, JSON Feed `content_html`/`content_text`. A
summary (Atom `<summary>`, JSON Feed `summary`, RSS `<description>` next to
`content:encoded`) is the post's `summary`, never its content. An RSS `<description>`
alone is the content only when it clearly is the whole post (feeds set to "full text",
Hugo's templates printing `.Content` there): at least two block elements (`<p>`, `<div>`,
`<blockquote>`, lists, headings…) or more than FULL_TEXT_CHARS characters of text, and
not ending with an excerpt mark ("[…]", "…", "Continue reading", "Read more"). Else it is
the summary, and the page (or the REST API) has to give the content. An untitled RSS
item is a note, whose `<description>` is the whole of it (unless it ends with such a mark).

Dates: an item with only a modified date (Atom `<updated>`, RSS 1.0 `dc:date`, JSON Feed
`date_modified`) gives it as both, its published date labelled "feed-updated" (a page's
or a permalink's own day outranks it: bridge/blog/merge.py); otherwise `updated` is kept
only when it differs from `published`.

Authors: RSS `<author>` is "email (Name)" by the spec, and feedparser's email pattern
cuts addresses short, so an RSS author with an address is read from the raw string: the
name without the address, and no author name at all for a bare address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from bridge.blog import content as content_html
from bridge.blog import microformats
from bridge.blog.post import Author, Link, Media, Post, Profile, parse_datetime, same_url

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",  # JSON Feed 1.0 advertised this type
}
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed: its permalink and what the item says about the post."""

    url: str | None
    post: Post  # a partial post, sources {"_": "feed"}


@dataclass(frozen=True)
class Feed:
    """A parsed feed. `kind` is "rss", "atom", "json" or "h-feed"."""

    url: str
    kind: str
    title: str | None = None
    description: str | None = None
    home_url: str | None = None
    author: Author | None = None
    icon: str | None = None
    language: str | None = None
    items: tuple[FeedItem, ...] = ()

    def find(self, url: str) -> FeedItem | None:
        """The item whose permalink (or id) is `url`."""
        for item in self.items:
            if same_url(item.url, url) or same_url(item.post.uid, url):
                return item
        return None


def feed_links(links: Iterable[Link]) -> tuple[Link, ...]:
    """The page's feed links (rel=alternate with a feed type), comment feeds last.

    WordPress lists the posts feed first, then "Comments Feed" and, on a post page,
    that post's comments feed (wp-includes/general-template.php, feed_links).
    """
    found = [link for link in links if "alternate" in link.rels
             and (link.type or "").split(";")[0].strip().lower() in FEED_TYPES
             and (link.type or "").lower() != "application/json"]
    return tuple(sorted(found, key=lambda link: _is_comments_feed(link)))


def _is_comments_feed(link: Link) -> bool:
    title = (link.title or "").lower()
    return "comments" in title or "/comments/" in link.url or link.url.rstrip("/").endswith(
        "/comments/feed")


def choose_feed(links: Iterable[Link]) -> Link | None:
    """The blog's posts feed among the page's links, if it declares one."""
    found = feed_links(links)
    return found[0] if found and not _is_comments_feed(found[0]) else None


def _date(value: Any) -> datetime | None:
    """RFC 822 (RSS) or RFC 3339 (Atom, JSON Feed) date-time, keeping its offset."""
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = parse_datetime(value)
    if parsed is not None:
        return parsed
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


FULL_TEXT_CHARS = 1000
_BLOCK = re.compile(r"<(?:p|div|blockquote|ul|ol|pre|figure|table|h[1-6])[\s>/]", re.IGNORECASE)
_EXCERPT_ENDS = ("[…]", "[&hellip;]", "[...]", "…", "...", "continue reading", "read more")
_EMAIL = re.compile(r"[^\s()<>\[\]\"',;]+@[^\s()<>\[\]\"',;]+")


def is_full_content(description: str, *, titled: bool = True) -> bool:
    """Whether an RSS <description> (found without content:encoded) is the whole post.

    An untitled item is a note: its description is all there is of it.
    """
    text = content_html.text_of(description)
    if text.rstrip(" »→›").casefold().endswith(_EXCERPT_ENDS):
        return False
    return not titled or len(_BLOCK.findall(description)) >= 2 or len(text) > FULL_TEXT_CHARS


def _dates(published: datetime | None, updated: datetime | None) -> tuple[datetime | None, datetime | None, bool]:
    """(published, updated, whether published is the modified date standing in): a
    modified date alone is both, labelled "feed-updated" for published, so that a page's
    or a permalink's own day outranks it; an updated date equal to published is none."""
    if published is None:
        return updated, updated, updated is not None
    return published, updated if updated is not None and updated != published else None, False


def rss_author_name(raw: str) -> str | None:
    """The name in an RSS <author>: "jo@x.example (Jo)", "Jo <jo@x.example>" → "Jo";
    a bare address → None (an address is not a name, and not ours to publish)."""
    text = re.sub(r"[()<>\[\]]", " ", _EMAIL.sub(" ", raw))
    return " ".join(text.split()).strip(" ,;:-") or None


def _entry_author(entry: Mapping[str, Any], kind: str) -> Author | None:
    detail = entry.get("author_detail") or {}
    raw = entry.get("author")
    if kind == "rss" and detail.get("email") and isinstance(raw, str):
        name = rss_author_name(raw)
    else:
        name = detail.get("name") or raw or None
    url = detail.get("href") or None
    return Author(name=name, url=url) if (name or url) else None


def _text_value(value: Any, detail: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if isinstance(detail, Mapping) and "html" in str(detail.get("type", "")):
        return content_html.text_of(value)
    return " ".join(value.split())


def _post_from_entry(entry: Mapping[str, Any], base: str, language: str | None, kind: str) -> Post:
    link = entry.get("link")
    item_base = link or base
    empty: set[str] = set()
    title = _text_value(entry.get("title"), entry.get("title_detail")) or None
    if "title" in entry and not title:
        empty.add("title")

    html = None
    contents = entry.get("content") or []
    for value in contents:
        if "html" in str(value.get("type", "")) or html is None:
            html = value.get("value")
    summary = entry.get("summary")
    if any(summary == value.get("value") for value in contents):
        summary = None  # feedparser's copy of the content, not a summary
    if html is None and kind == "rss" and isinstance(summary, str) and is_full_content(
            summary, titled=bool(title)):
        # The whole post in <description>: see the module docstring.
        html, summary = summary, None
    cleaned = content_html.clean_content(html, item_base) if html else None
    author = _entry_author(entry, kind)
    # `"updated" in entry`: feedparser's entry.get("updated") falls back to the published date.
    published, updated, guessed = _dates(_date(entry.get("published")),
                                         _date(entry.get("updated")) if "updated" in entry else None)

    photos: list[Media] = []
    videos: list[Media] = []
    audio: list[Media] = []
    for enclosure in (l for l in entry.get("links", []) if l.get("rel") == "enclosure"):
        mime = str(enclosure.get("type") or "")
        media = Media(url=urljoin(item_base, enclosure.get("href", "")), mime_type=mime or None)
        {"image": photos, "video": videos, "audio": audio}.get(mime.split("/")[0], []).append(media)
    featured = None
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            featured = Media(url=urljoin(item_base, thumb["url"]))
            break
    if cleaned:
        photos.extend(content_html.images_in(cleaned, item_base))
        videos.extend(content_html.media_in(cleaned, item_base, "video"))
        audio.extend(content_html.media_in(cleaned, item_base, "audio"))

    responses = microformats.content_properties(cleaned, item_base) if cleaned else {}
    reply = entry.get("thr_in-reply-to")
    target = (reply.get("href") or reply.get("ref")) if isinstance(reply, Mapping) else None
    if isinstance(target, str) and target:
        # Atom threading extension (RFC 4685).
        responses.setdefault("in_reply_to", (target,))
    terms = [t.get("label") or t.get("term") for t in entry.get("tags") or []]
    return Post(
        url=link or None,
        uid=entry.get("id") or None,
        title=title,
        content_html=cleaned,
        summary=(_text_value(summary, entry.get("summary_detail")) or None) if isinstance(summary, str) else None,
        published=published,
        updated=updated,
        author=author,
        categories=tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip())),
        photos=tuple(dict.fromkeys(photos)),
        featured=featured,
        videos=tuple(dict.fromkeys(videos)),
        audio=tuple(dict.fromkeys(audio)),
        mentions=content_html.mentions_in(cleaned, item_base) if cleaned else (),
        language=language,
        sources={"_": "feed", "published": "feed-updated"} if guessed else {"_": "feed"},
        empty=frozenset(empty),
        in_reply_to=responses.get("in_reply_to", ()),
        like_of=responses.get("like_of", ()),
        repost_of=responses.get("repost_of", ()),
        bookmark_of=responses.get("bookmark_of", ()),
    )


def _json_author(data: Mapping[str, Any]) -> Author | None:
    authors = data.get("authors") or ([data["author"]] if data.get("author") else [])
    for author in authors:
        if isinstance(author, Mapping) and (author.get("name") or author.get("url")):
            return Author(name=author.get("name"), url=author.get("url"),
                          photo=author.get("avatar"))
    return None


def _parse_json_feed(data: Mapping[str, Any], url: str) -> Feed:
    language = data.get("language") if isinstance(data.get("language"), str) else None
    items = []
    for item in data.get("items") or []:
        if not isinstance(item, Mapping):
            continue
        link = item.get("url") or item.get("external_url")
        base = link or url
        html = item.get("content_html")
        if html is None and isinstance(item.get("content_text"), str):
            html = "<p>" + item["content_text"].replace("&", "&amp;").replace("<", "&lt;") + "</p>"
        cleaned = content_html.clean_content(html, base) if html else None
        photos = list(content_html.images_in(cleaned, base)) if cleaned else []
        videos: list[Media] = []
        audio: list[Media] = []
        for att in item.get("attachments") or []:
            mime = str(att.get("mime_type") or "")
            media = Media(url=urljoin(base, att.get("url", "")), alt=att.get("title"),
                          mime_type=mime or None)
            {"image": photos, "video": videos, "audio": audio}.get(mime.split("/")[0], []).append(media)
        image = item.get("image") or item.get("banner_image")
        responses = microformats.content_properties(cleaned, base) if cleaned else {}
        published, updated, guessed = _dates(_date(item.get("date_published")), _date(item.get("date_modified")))
        post = Post(
            url=link, uid=str(item["id"]) if item.get("id") is not None else None,
            title=item.get("title") or None, content_html=cleaned,
            summary=item.get("summary") or None,
            published=published, updated=updated,
            author=_json_author(item) or _json_author(data),
            categories=tuple(t for t in item.get("tags") or [] if isinstance(t, str)),
            photos=tuple(dict.fromkeys(photos)),
            featured=Media(url=urljoin(base, image)) if isinstance(image, str) else None,
            videos=tuple(videos), audio=tuple(audio),
            language=item.get("language") or language,
            sources={"_": "feed", "published": "feed-updated"} if guessed else {"_": "feed"},
            empty=frozenset({"title"}) if "title" in item and not item["title"] else frozenset(),
            in_reply_to=responses.get("in_reply_to", ()),
            like_of=responses.get("like_of", ()),
            repost_of=responses.get("repost_of", ()),
            bookmark_of=responses.get("bookmark_of", ()),
        )
        items.append(FeedItem(url=link, post=post))
    return Feed(url=url, kind="json", title=data.get("title"), description=data.get("description"),
                home_url=data.get("home_page_url"), author=_json_author(data),
                icon=data.get("icon") or data.get("favicon"), language=language,
                items=tuple(items))


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> Feed:
    """An RSS 2.0, Atom or JSON Feed document → Feed. Raises ValueError if it is none."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in ("application/feed+json", "application/json") or body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body)
        except ValueError as error:
            raise ValueError(f"{url}: not a JSON Feed: {error}") from error
        if not isinstance(data, Mapping) or "jsonfeed.org" not in str(data.get("version", "")):
            raise ValueError(f"{url}: JSON without a JSON Feed version")
        return _parse_json_feed(data, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Content is cleaned by bridge/blog/content.py, which resolves URLs against each item's
    # permalink; feedparser's own sanitiser would drop the classes (u-in-reply-to) we read.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    if not parsed.version:
        raise ValueError(f"{url}: not an RSS or Atom feed ({parsed.get('bozo_exception')})")
    meta = parsed.feed
    language = meta.get("language") or None
    author_detail = meta.get("author_detail") or {}
    author = None
    if author_detail.get("name") or meta.get("author"):
        author = Author(name=author_detail.get("name") or meta.get("author"),
                        url=author_detail.get("href"))
    image = meta.get("image") or {}
    kind = "atom" if parsed.version.startswith("atom") else "rss"
    return Feed(
        url=url, kind=kind,
        title=_text_value(meta.get("title"), meta.get("title_detail")) or None,
        description=_text_value(meta.get("subtitle"), meta.get("subtitle_detail")) or None,
        home_url=meta.get("link") or None,
        author=author,
        icon=meta.get("icon") or meta.get("logo") or image.get("href") or image.get("url"),
        language=language,
        items=tuple(FeedItem(url=e.get("link") or None, post=_post_from_entry(e, url, language, kind))
                    for e in parsed.entries),
    )


def feed_from_mf2(page: microformats.Mf2Page) -> Feed:
    """A page's h-feed (or its list of top-level h-entries) as a Feed."""
    name, author, posts = microformats.feed_entries(page)
    return Feed(url=page.url, kind="h-feed", title=name, author=author, home_url=page.url,
                items=tuple(FeedItem(url=p.url, post=p) for p in posts))


def profile_from_feed(feed: Feed) -> Profile:
    """What a feed says about the blog: its title, description, author, icon, language."""
    name = feed.title or (feed.author.name if feed.author else None)
    return Profile(url=feed.home_url, name=name, site_name=feed.title,
                   summary=feed.description, icon=Media(url=feed.icon) if feed.icon else None,
                   feed_url=feed.url, language=feed.language, sources={"_": "feed"})


def with_author(feed: Feed) -> Feed:
    """Items inherit the feed's author when they name none (Atom 4.2.1, JSON Feed authors)."""
    if feed.author is None:
        return feed
    items = tuple(item if item.post.author else FeedItem(item.url, replace(item.post, author=feed.author))
                  for item in feed.items)
    return replace(feed, items=items)


def single_author(feed: Feed) -> str | None:
    """The one author name every item gives, if they all give the same one."""
    names = {item.post.author.name for item in feed.items if item.post.author}
    return names.pop() if len(names) == 1 and None not in names else None
