"""Microformats (mf2, and legacy mf1 through mf2py's backcompat) → Post, Author, Profile.

All use of mf2py lives here, and raw mf2 dicts never leave this module (design.md):
callers get a `Mf2Page` (opaque) and the dataclasses of bridge/blog/post.py.

mf2py runs on a BeautifulSoup tree built with lxml, its fastest parser: on every fixture
page it finds the same items as its default html5lib parser, the only difference being
runs of whitespace between block elements inside e-* html ("\n" for "\n\n\n\n";
tests/test_microformats.py checks it; bench/read.py times it). The tree is parsed
once and shared with bridge/blog/metaformats.py.

Legacy (mf1) markup is read through mf2py's backcompat, then corrected where real
themes mislead it (bridge/blog/mf1.py); mf2 classes inside an mf1 root (a hand-written
`u-in-reply-to` in a post) are read from the e-content html (`content_properties`).

Where mf2py's values mislead (a u-* property on an element without a URL attribute gets
the element's text glued to the page's URL; `class="p-name e-content"` makes the content
the name), the entry's elements are read instead (bridge/blog/properties.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import urljoin, urlsplit

import mf2py
from bs4 import BeautifulSoup, Tag

from bridge.blog import content as content_html
from bridge.blog import mf1, properties
from bridge.blog.post import Author, Link, Media, Post, parse_date_or_datetime, same_url
from bridge.blog.recent import Recent, text_key

_RESPONSE_PROPERTIES = {
    "in-reply-to": "in_reply_to",
    "like-of": "like_of",
    "repost-of": "repost_of",
    "bookmark-of": "bookmark_of",
}
_PICTURE_PROPERTIES = ("photo", "featured")
# The property classes whose elements are looked at (bridge/blog/properties.py).
_CHECKED = frozenset({"p-name", "e-content", *(f"u-{n}" for n in (*_RESPONSE_PROPERTIES, *_PICTURE_PROPERTIES))})


class Mf2Page:
    """One parsed HTML page: its tree (shared with metaformats) and its microformats."""

    __slots__ = ("url", "soup", "_mf2")

    def __init__(self, url: str, soup: BeautifulSoup, mf2: dict[str, Any]) -> None:
        self.url = url
        self.soup = soup
        self._mf2 = mf2

    @classmethod
    def parse(cls, html: str, url: str) -> Mf2Page:
        soup = BeautifulSoup(html, "lxml")
        return cls(url, soup, mf2py.parse(doc=soup, url=url))


PARSED_PAGES = Recent[Mf2Page](16)  # the last pages parsed (parse_page runs in threads too)


def parse_page(html: str, url: str) -> Mf2Page:
    """Parse a page once (lxml) and run mf2py over the tree; `url` resolves relative URLs.
    A page parsed lately (same URL, same bytes) is not parsed again; trees are only read."""
    return PARSED_PAGES.get_or_make(text_key(url, html), lambda: Mf2Page.parse(html, url))


def parse_with(html: str, url: str, html_parser: str = "html5lib") -> dict[str, Any]:
    """mf2py's raw output with a given parser (for the parser check and the bench only)."""
    return mf2py.parse(doc=html, url=url, html_parser=html_parser)


def rel_links(page: Mf2Page) -> tuple[Link, ...]:
    """Every rel link of the page (<link>, <a>, <area>), in document order."""
    out = []
    for url, info in page._mf2.get("rel-urls", {}).items():
        out.append(Link(url=url, rels=tuple(info.get("rels", ())), type=info.get("type"),
                        title=info.get("title"), text=info.get("text") or None))
    return tuple(out)


def has_microformats(page: Mf2Page) -> bool:
    return bool(page._mf2.get("items"))


def strings(values: Iterable[Any]) -> list[str]:
    """Plain values of a property: an embedded microformat gives its url, else its value."""
    out = []
    for value in values:
        if isinstance(value, dict):
            props = value.get("properties", {})
            value = (props.get("url") or [None])[0] or value.get("value") or value.get("html")
            if isinstance(value, dict):
                value = value.get("value")
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
    return out


def first_value(props: Mapping[str, list[Any]], name: str) -> str | None:
    values = strings(props.get(name, ()))
    return values[0] if values else None


def media_values(values: Iterable[Any], base: str) -> tuple[Media, ...]:
    out: dict[str, Media] = {}
    for value in values:
        if isinstance(value, dict) and "properties" not in value:
            url, alt = value.get("value"), value.get("alt")
        else:
            url, alt = next(iter(strings([value])), None), None
        if isinstance(url, str) and url:
            url = urljoin(base, url)
            out.setdefault(url, Media(url=url, alt=(alt or "").strip() or None))
    return tuple(out.values())


def _unique(media: tuple[Media, ...]) -> tuple[Media, ...]:
    """Media without repeated URLs; the first (u-photo, with its alt text) is kept."""
    first: dict[str, Media] = {}
    for item in media:
        first.setdefault(item.url, item)
    return tuple(first.values())


def entry_author_property(item: dict[str, Any], feed: dict[str, Any] | None, base: str) -> Author | None:
    """The entry's author property, else its h-feed's."""
    values = [*item.get("properties", {}).get("author", ()),
              *(feed or {}).get("properties", {}).get("author", ())]
    return next(filter(None, (author_from_value(v, base) for v in values)), None)


def _content(props: Mapping[str, list[Any]]) -> tuple[str | None, str | None]:
    """The first content value: (html, text)."""
    for value in props.get("content", ()):
        if isinstance(value, dict) and value.get("html") is not None:
            return value["html"], value.get("value")
        if isinstance(value, str):
            return escape(value), value
    return None, None


def author_from_value(value: Any, base: str) -> Author | None:
    """An author property value: an h-card, a URL, or a plain name."""
    if isinstance(value, dict) and "properties" in value:
        props = value["properties"]
        photos = media_values(props.get("photo", ()), base)
        author = Author(name=first_value(props, "name"), url=first_value(props, "url"),
                        photo=photos[0].url if photos else None)
        return None if author.is_empty() else author
    text = strings([value])
    if not text:
        return None
    if text[0].startswith(("http://", "https://", "/")):
        return Author(url=urljoin(base, text[0]))
    return Author(name=text[0])


def _entries(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Top-level h-entry items, then the h-entries of top-level h-feeds (with their feed)."""
    top: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        (item, None) for item in items if "h-entry" in item.get("type", ())]
    nested: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        (child, item)
        for item in items if "h-feed" in item.get("type", ())
        for child in item.get("children", ()) if "h-entry" in child.get("type", ())
    ]
    return top + nested


def _is_comment(item: dict[str, Any], page_urls: list[str]) -> bool:
    """A comment's h-entry points at the page: url "page#comment-2", or in-reply-to page."""
    props = item.get("properties", {})
    for url in strings(props.get("url", ())):
        parts = urlsplit(url)
        if parts.fragment and any(same_url(url.split("#")[0], p) for p in page_urls):
            return True
    return any(same_url(u, p) for u in strings(props.get("in-reply-to", ())) for p in page_urls)


def _canonical(page: Mf2Page) -> str | None:
    urls = page._mf2.get("rels", {}).get("canonical") or []
    return urls[0] if urls else None


def select_entry(page: Mf2Page) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The page's post: the h-entry whose url is the page, else the top-level one.

    Never a comment's h-entry (see _is_comment), never the first of a home page's list.
    """
    entries = _entries(page._mf2.get("items", []))
    page_urls = [u for u in (page.url, _canonical(page)) if u]
    for entry, feed in entries:
        # "page#comment-2" is a comment's URL, not the page's (same_url ignores fragments).
        urls = [u for u in strings(entry.get("properties", {}).get("url", ())) if "#" not in u]
        if any(same_url(u, p) for u in urls for p in page_urls):
            return entry, feed
    top = [(e, f) for e, f in entries if f is None and not _is_comment(e, page_urls)]
    if top:
        return top[0]
    in_feed = [(e, f) for e, f in entries if f is not None and not _is_comment(e, page_urls)]
    return in_feed[0] if len(in_feed) == 1 else None


def _element_of(page: Mf2Page, item: dict[str, Any]) -> Tag | None:
    """The element an item was parsed from: by its id, else the page's only entry root,
    else the one h-entry whose own u-url is the item's (a post whose comments are h-entries)."""
    if item.get("id"):
        el = page.soup.find(id=item["id"])
        if isinstance(el, Tag):
            return el
    roots = page.soup.find_all(class_=["h-entry", "hentry"])
    if len(roots) == 1:
        return roots[0]
    url = first_value(item.get("properties", {}), "url")
    if not url:
        return None
    target = urljoin(page.url, url)
    found = [root for root in roots if "h-entry" in mf1.classes(root) and any(
        urljoin(page.url, (content_html.attr(a, "href") or "").strip()) == target
        for a in properties.own_elements(root, frozenset({"u-url"}))["u-url"])]
    return found[0] if len(found) == 1 else None


def _is_mf1(el: Tag | None, page: Mf2Page) -> bool:
    if el is not None:
        return "h-entry" not in mf1.classes(el)
    return page.soup.find(class_="h-entry") is None


def _elements(props: Mapping[str, list[Any]], root: Tag | None) -> dict[str, list[Tag]] | None:
    """The elements of the item's checked properties, when something needs checking: a
    u-* value mf2py may have made up from text, or a name that may be the content."""
    if root is None:
        return None
    urls = (*_RESPONSE_PROPERTIES, *_PICTURE_PROPERTIES)
    if any(isinstance(v, str) for name in urls for v in props.get(name, ())) or (
            props.get("name") and props.get("content")):
        return properties.own_elements(root, _CHECKED)
    return None


def _repaired(props: Mapping[str, list[Any]], elements: dict[str, list[Tag]] | None,
              base: str) -> dict[str, list[Any]]:
    """The item's properties with the u-* values mf2py made up from an element's text
    replaced by the element's link or picture (bridge/blog/properties.py)."""
    found = elements or {}
    out = dict(props)
    for name in _RESPONSE_PROPERTIES:
        if props.get(name):
            out[name] = properties.repaired_link(props[name], found.get(f"u-{name}"), base)
    for name in _PICTURE_PROPERTIES:
        if props.get(name):
            out[name] = properties.repaired_picture(props[name], found.get(f"u-{name}"), base)
    return out


def content_properties(html: str, base_url: str) -> dict[str, tuple[str, ...]]:
    """Response properties marked up inside a post's content (`<a class="u-in-reply-to">`).

    Authors hand-write these in the content of posts whose theme has no such markup; the
    content is parsed as the e-content of an h-entry, so mf2 rules decide what counts.
    """
    wrapped = BeautifulSoup(f'<div class="h-entry"><div class="e-content">{html}</div></div>', "lxml")
    items = mf2py.parse(doc=wrapped, url=base_url).get("items", [])
    props = items[0].get("properties", {}) if items else {}
    root = wrapped.find(class_="h-entry")
    props = _repaired(props, _elements(props, root if isinstance(root, Tag) else None), base_url)
    return {field: tuple(strings(props.get(name, ())))
            for name, field in _RESPONSE_PROPERTIES.items() if props.get(name)}


def _name_markup(elements: dict[str, list[Tag]] | None) -> tuple[bool, bool]:
    """(the p-name is the e-content: an untitled note; a p-name apart from the content)."""
    if elements is None:
        return False, False
    names, contents = elements["p-name"], elements["e-content"]
    return properties.name_is_content(names, contents), properties.has_title_element(names, contents)


def _post_from_item(page: Mf2Page, item: dict[str, Any], feed: dict[str, Any] | None,
                    source: str | None = None) -> Post:
    base = page.url
    el = _element_of(page, item)
    syntax = "mf1" if _is_mf1(el, page) else "mf2"
    source = source or syntax
    props = item.get("properties", {})
    elements = _elements(props, el) if syntax == "mf2" else None
    if syntax == "mf2":
        props = _repaired(props, elements, base)
    empty: set[str] = set()

    html, text = _content(props)
    cleaned = content_html.clean_content(html, base) if html is not None else None
    author = entry_author_property(item, feed, base)

    categories = [c for c in strings(props.get("category", ())) if not c.startswith("http")]
    tags: list[str] = []
    updated = parse_date_or_datetime(first_value(props, "updated"))
    url = first_value(props, "url")
    responses = {field: tuple(strings(props.get(name, ())))
                 for name, field in _RESPONSE_PROPERTIES.items()}
    if syntax == "mf1":
        categories, tags, updated, url = mf1.fix(el, page.soup, base, categories, updated, url)
        for field, values in (content_properties(cleaned, base) if cleaned else {}).items():
            responses[field] = responses[field] or values

    name = first_value(props, "name")
    if name and cleaned is None and el is not None and syntax == "mf2" and not mf1.has_explicit_name(el):
        # No content and no p-name: the name is implied from all the entry's text, so it
        # is the content of a note (Post Type Discovery, section 4: "if no content, use name").
        cleaned, name = "<p>" + escape(name) + "</p>", None
    note, titled = _name_markup(elements) if name else (False, False)
    if note:
        # class="p-name e-content": the name is the content, told by the element. The
        # page says nothing of a title, so a feed's title may still count (not `empty`).
        name = None
    elif name and not titled and text and content_html.squash(text).startswith(content_html.squash(name)):
        # An implied name repeats the entry's text: a note has no title (granary makes
        # the same check in microformats2.py). A p-name of its own is a title, even one
        # repeating the content's first words.
        name = None
    if name is None and syntax == "mf2" and cleaned is not None and not note:
        # mf2 content without a p-name is a note (Post Type Discovery): there is no
        # title for a fallback (og:title, the feed) to supply.
        empty.add("title")

    photos = media_values(props.get("photo", ()), base)
    videos = media_values(props.get("video", ()), base)
    audio = media_values(props.get("audio", ()), base)
    if cleaned:
        photos += content_html.images_in(cleaned, base)
        videos += content_html.media_in(cleaned, base, "video")
        audio += content_html.media_in(cleaned, base, "audio")
    featured = media_values(props.get("featured", ()), base)
    return Post(
        url=url and urljoin(base, url),
        uid=first_value(props, "uid"),
        title=name,
        content_html=cleaned,
        summary=first_value(props, "summary"),
        published=parse_date_or_datetime(first_value(props, "published")),
        updated=updated,
        author=author,
        categories=tuple(dict.fromkeys(categories)),
        tags=tuple(tags),
        photos=_unique(photos),
        featured=featured[0] if featured else None,
        videos=_unique(videos),
        audio=_unique(audio),
        mentions=content_html.mentions_in(cleaned, base) if cleaned else (),
        language=item.get("lang") or None,
        sources={"_": source},
        empty=frozenset(empty),
        in_reply_to=responses.get("in_reply_to", ()),
        like_of=responses.get("like_of", ()),
        repost_of=responses.get("repost_of", ()),
        bookmark_of=responses.get("bookmark_of", ()),
    )


def post_from_mf2(page: Mf2Page) -> Post | None:
    """The page's post from its h-entry (mf2, or mf1 through backcompat), if it has one.

    The partial post's `sources` holds {"_": "mf2"} or {"_": "mf1"}: which syntax it
    came from; bridge/blog/merge.py turns that into per-field provenance.
    """
    selected = select_entry(page)
    if selected is None:
        return None
    return _post_from_item(page, *selected)


def feed_entries(page: Mf2Page) -> tuple[str | None, Author | None, tuple[Post, ...]]:
    """An h-feed (or a page of top-level h-entries): its name, its author, its entries."""
    items = page._mf2.get("items", [])
    feed = next((i for i in items if "h-feed" in i.get("type", ())), None)
    if feed is not None:
        entries = [c for c in feed.get("children", ()) if "h-entry" in c.get("type", ())]
        props = feed.get("properties", {})
        name = first_value(props, "name")
        author = next((a for a in (author_from_value(v, page.url)
                                   for v in props.get("author", ())) if a), None)
    else:
        entries = [i for i in items if "h-entry" in i.get("type", ())]
        name, author = None, None
    posts = tuple(_post_from_item(page, e, feed, source="feed") for e in entries)
    return name, author, posts
