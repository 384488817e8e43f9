"""schema.org JSON-LD in a page: the post it describes, and on a home page the site.

SEO plugins (Yoast, Rank Math, All in One SEO) and many Hugo, Jekyll and Ghost themes
describe the page in `<script type="application/ld+json">`. Pure: a parsed page in, a
partial post or profile labelled "json-ld" out.

Read as plain JSON, not expanded as JSON-LD (no @context is fetched): the vocabulary is
schema.org in practice, and types are matched by their short names ("BlogPosting",
"schema:BlogPosting" and "https://schema.org/BlogPosting" alike). Tolerant of what real
pages carry: invalid JSON is skipped, a script may hold one node, a list of nodes or an
`@graph` (Yoast, Rank Math), `@type` may be a list, and `{"@id": …}` references are
resolved among the page's nodes.

What is not taken, and why: `articleSection` is a site section ("posts" on Hugo, the
first category on Yoast), not the post's categories; a node's `@id` is a name, not a
page ("…/#article", "…/#/schema/person/…"); `publisher` is the site, not the author.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from bridge.blog import content as content_html
from bridge.blog.metaformats import unique_names
from bridge.blog.post import Author, Media, Post, Profile, parse_date_or_datetime

# The types a blog post is given: Article and its subtypes, the *Posting types
# (not JobPosting). A WebPage, WebSite or Organization node describes something else.
POST_TYPES = frozenset({
    "Article", "BlogPosting", "LiveBlogPosting", "SocialMediaPosting", "DiscussionForumPosting",
    "NewsArticle", "TechArticle", "ScholarlyArticle", "Report", "APIReference",
})
_SCRIPT_TYPE = "application/ld+json"
_MAX_DEPTH = 4  # lists and @graphs nested in each other, as far as real pages go


def _short(type_name: str) -> str:
    """"https://schema.org/BlogPosting" or "schema:BlogPosting" → "BlogPosting"."""
    return type_name.rsplit("/", 1)[-1].rsplit(":", 1)[-1].rsplit("#", 1)[-1]


def types_of(node: Mapping[str, Any]) -> frozenset[str]:
    """A node's @type (a string or a list) as short names."""
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return frozenset(_short(v.strip()) for v in values if isinstance(v, str) and v.strip())


def is_post(node: Mapping[str, Any]) -> bool:
    """Whether a node describes a post: one of POST_TYPES, or any other *Article."""
    return any(t in POST_TYPES or t.endswith("Article") for t in types_of(node))


def documents(soup: BeautifulSoup) -> list[Any]:
    """The decoded JSON of every ld+json script of the page, in order; invalid ones skipped."""
    out: list[Any] = []
    for el in soup.find_all("script"):
        kind = el.get("type")
        if not isinstance(kind, str) or kind.split(";")[0].strip().lower() != _SCRIPT_TYPE:
            continue
        text = (el.string or el.get_text()).strip()
        if text.startswith("<!--") and text.endswith("-->"):
            text = text[4:-3].strip()
        try:
            out.append(json.loads(text, strict=False))  # strict=False: raw newlines in strings
        except ValueError:
            continue
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _walk(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _walk(graph, depth + 1)


def nodes(soup: BeautifulSoup) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The page's top-level nodes in order (each list and @graph flattened), and those with
    an @id by their id; a WebPage's inline `mainEntity` counts as a top-level node."""
    found: list[dict[str, Any]] = []
    for document in documents(soup):
        for node in _walk(document):
            found.append(node)
            found.extend(main for main in _as_list(node.get("mainEntity"))
                         if isinstance(main, dict) and "@type" in main)
    index: dict[str, dict[str, Any]] = {}
    for node in found:
        ident = node.get("@id")
        if isinstance(ident, str):
            index.setdefault(ident, node)
    return found, index


def _resolve(value: Any, index: Mapping[str, dict[str, Any]]) -> Any:
    """A `{"@id": …}` reference as the node it names, when the page has it."""
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and set(value) <= {"@id", "@type"}:
        return index.get(value["@id"], value)
    return value


def _text(value: Any) -> str | None:
    """A plain string: the first of a list, a value object's @value, entities decoded."""
    for item in _as_list(value):
        if isinstance(item, dict):
            item = item.get("@value")
        if isinstance(item, str):
            text = html.unescape(item) if "&" in item else item
            if "<" in text:
                text = content_html.text_of(text)
            text = " ".join(text.split())
            if text:
                return text
    return None


def _link(value: Any, base: str) -> str | None:
    """The first http(s) URL in a value, resolved against the page's URL."""
    for item in _as_list(value):
        if isinstance(item, str) and item.strip():
            url = urljoin(base, item.strip())
            if url.startswith(("http://", "https://")):
                return url
    return None


def _page_url(value: Any) -> str | None:
    """An absolute http(s) URL without a fragment, as written (never resolved): a post's url."""
    for item in _as_list(value):
        if isinstance(item, dict):
            item = item.get("@id") or item.get("url")
        if isinstance(item, str):
            parts = urlsplit(item.strip())
            if parts.scheme in ("http", "https") and parts.netloc and not parts.fragment:
                return item.strip()
    return None


def image(value: Any, index: Mapping[str, dict[str, Any]], base: str) -> Media | None:
    """The first image of a value: a URL, an ImageObject (url or contentUrl), a list."""
    for item in _as_list(value):
        item = _resolve(item, index)
        if isinstance(item, str):
            url = _link(item, base)
            if url:
                return Media(url=url)
        elif isinstance(item, dict):
            url = _link(item.get("url"), base) or _link(item.get("contentUrl"), base)
            mime = item.get("encodingFormat")
            if url:
                return Media(url=url, mime_type=mime if isinstance(mime, str) and "/" in mime else None)
    return None


def author(value: Any, index: Mapping[str, dict[str, Any]], base: str) -> Author | None:
    """The first author a value names: a name, a profile URL, a Person (or Organization)
    with name, url and image, a list of them, or an @id reference to one."""
    for item in _as_list(value):
        item = _resolve(item, index)
        found = None
        if isinstance(item, str) and item.strip():
            text = item.strip()
            found = Author(url=text) if text.startswith(("http://", "https://")) else Author(name=_text(text))
        elif isinstance(item, dict):
            photo = image(item.get("image"), index, base)
            found = Author(name=_text(item.get("name")), url=_link(item.get("url"), base),
                           photo=photo.url if photo else None)
        if found is not None and not found.is_empty():
            return found
    return None


def keywords(value: Any) -> tuple[str, ...]:
    """Tags from `keywords`: a comma-separated string or a list (of strings or DefinedTerms),
    trimmed, without repeats (compared case-insensitively, the first spelling kept)."""
    names: list[str] = []
    for item in _as_list(value):
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            names.extend(item.split(","))
    return unique_names(names)


def post_from_node(node: Mapping[str, Any], index: Mapping[str, dict[str, Any]], url: str) -> Post:
    """One Article/BlogPosting node as a partial post (sources "json-ld")."""
    language = node.get("inLanguage")
    return Post(
        url=_page_url(node.get("url")) or _page_url(node.get("mainEntityOfPage")),
        title=_text(node.get("headline")) or _text(node.get("name")),
        summary=_text(node.get("description")),
        published=parse_date_or_datetime(node.get("datePublished")),
        updated=parse_date_or_datetime(node.get("dateModified")),
        author=author(node.get("author"), index, url),
        tags=keywords(node.get("keywords")),
        featured=image(node.get("image"), index, url) or image(node.get("thumbnailUrl"), index, url),
        language=(language.strip() or None) if isinstance(language, str) else None,
        sources={"_": "json-ld"},
    )


def post_from_jsonld(soup: BeautifulSoup, url: str) -> Post | None:
    """What the page's first post node (BlogPosting, Article…) says, or None if it has none."""
    found, index = nodes(soup)
    for node in found:
        if is_post(node):
            post = post_from_node(node, index, url)
            return post if post != Post() else None
    return None


def _first(found: list[dict[str, Any]], *names: str) -> dict[str, Any] | None:
    for node in found:
        if types_of(node) & set(names):
            return node
    return None


def profile_from_jsonld(soup: BeautifulSoup, url: str) -> Profile | None:
    """A home page's WebSite node and who runs the site (its `publisher`, else the first
    Person or Organization node): name, url, description, picture or logo.

    Only for the home page: on a post page the Person nodes are the post's authors.
    """
    found, index = nodes(soup)
    site = _first(found, "WebSite")
    owner = _resolve(site.get("publisher"), index) if site else None
    if isinstance(owner, list):
        owner = _resolve(owner[0], index) if owner else None
    if not isinstance(owner, dict):
        owner = _first(found, "Person", "Organization")
    site_name = _text(site.get("name")) if site else None
    picture = None
    if owner is not None:
        person = "Person" in types_of(owner)
        picture = image(owner.get("image" if person else "logo"), index, url) or image(
            owner.get("logo" if person else "image"), index, url)
    profile = Profile(
        url=(_page_url(site.get("url")) if site else None) or (
            _page_url(owner.get("url")) if owner else None),
        name=(_text(owner.get("name")) if owner else None) or site_name,
        summary=_text(site.get("description")) if site else None,
        icon=picture,
        site_name=site_name,
        sources={"_": "json-ld"},
    )
    return profile if profile != Profile() else None
