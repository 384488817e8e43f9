"""What a page says about itself in its <head>: OpenGraph, <meta>, rel=canonical, icons.

The fallback for pages without an h-entry (https://microformats.org/wiki/metaformats):
every page has a <title>, most have a description and a canonical link, many have
OpenGraph tags written by an SEO plugin. Pure: a parsed tree in, partial posts and
profiles out, each labelled with where it came from ("opengraph", "meta",
"rel-canonical").

mf2py has a metaformats option; it is not used because it maps only a few OpenGraph
properties, drops alt text, tags, the site name and icons, and hides which tag won.

`article:section` is not read: it names a section of the site (Hugo writes its content
section, "posts"; Yoast the first category), not the post's categories. Tags come from
`article:tag`, else from `<meta name="keywords">`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from bridge.blog.content import attr, tokens
from bridge.blog.post import Author, Media, Post, Profile, parse_date_or_datetime

# Separators WordPress and most engines put between a post title and the site name in
# <title> (wp_get_document_title uses "–", Yoast "-" or "|").
_TITLE_SEPARATORS = (" – ", " — ", " | ", " - ", " · ", " :: ", " » ")
_SIZE = re.compile(r"(\d+)x(\d+)")


def _head(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    return soup.head if isinstance(soup.head, Tag) else soup


def _meta(soup: BeautifulSoup) -> dict[str, list[str]]:
    """All <meta property|name=KEY content=…> values by lower-cased key, in order."""
    out: dict[str, list[str]] = {}
    for el in _head(soup).find_all("meta"):
        key = attr(el, "property") or attr(el, "name")
        value = attr(el, "content")
        if isinstance(key, str) and isinstance(value, str) and value.strip():
            out.setdefault(key.strip().lower(), []).append(value.strip())
    return out


def _one(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        if meta.get(key):
            return meta[key][0]
    return None


def document_title(soup: BeautifulSoup) -> str | None:
    """The text of the page's <title>."""
    title = _head(soup).find("title")
    text = " ".join(title.get_text().split()) if isinstance(title, Tag) else ""
    return text or None


def site_name(soup: BeautifulSoup) -> str | None:
    """og:site_name, else application-name."""
    return _one(_meta(soup), "og:site_name", "application-name")


def _strip_site(title: str, site: str | None) -> str | None:
    """"Post – Site" → "Post"; the site's own name is not a post title."""
    if not site:
        return title
    if title.strip().casefold() == site.strip().casefold():
        return None
    for sep in _TITLE_SEPARATORS:
        head, found, tail = title.rpartition(sep)
        if found and tail.strip().casefold() == site.strip().casefold():
            return head.strip() or None
    return title


def canonical_url(soup: BeautifulSoup, base: str) -> str | None:
    for el in _head(soup).find_all("link", href=True):
        if "canonical" in tokens(el, "rel"):
            return urljoin(base, (attr(el, "href") or "").strip())
    return None


def language(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    return lang.strip() if isinstance(lang, str) and lang.strip() else None


def unique_names(names: Iterable[str]) -> tuple[str, ...]:
    """Names trimmed, without empty ones or repeats (compared case-insensitively; the
    first spelling kept)."""
    seen: dict[str, str] = {}
    for name in names:
        text = " ".join(name.split())
        if text:
            seen.setdefault(text.casefold(), text)
    return tuple(seen.values())


def _og_author(value: str | None) -> Author | None:
    """article:author is meant to be a profile URL; SEO plugins often write a name."""
    if not value:
        return None
    return Author(url=value) if value.startswith(("http://", "https://")) else Author(name=value)


def posts_from_meta(soup: BeautifulSoup, url: str, *, site: str | None = None) -> list[Post]:
    """Partial posts from OpenGraph/Twitter tags, from plain <meta>/<title>, and rel=canonical.

    `site` is the site's name if another source knows it (the feed's title, oEmbed's
    provider): it is cut from the <title> ("Post – Site"), and a <title> that is only
    the site's name is no post title.
    """
    meta = _meta(soup)
    site = site_name(soup) or site
    out: list[Post] = []

    image = _one(meta, "og:image:secure_url", "og:image", "og:image:url", "twitter:image")
    alt = _one(meta, "og:image:alt", "twitter:image:alt")
    locale = _one(meta, "og:locale")
    tags = unique_names(meta.get("article:tag", ()))
    og = Post(
        url=(u := _one(meta, "og:url")) and urljoin(url, u),
        title=_one(meta, "og:title", "twitter:title"),
        summary=_one(meta, "og:description", "twitter:description"),
        # A day alone ("2021-04-02") is still the post's date: see parse_date_or_datetime.
        published=parse_date_or_datetime(_one(meta, "article:published_time")),
        updated=parse_date_or_datetime(_one(meta, "article:modified_time", "og:updated_time")),
        author=_og_author(_one(meta, "article:author")),
        tags=tags,
        featured=Media(url=urljoin(url, image), alt=alt) if image else None,
        videos=tuple(Media(url=urljoin(url, v)) for v in meta.get("og:video", ())[:1]),
        audio=tuple(Media(url=urljoin(url, a)) for a in meta.get("og:audio", ())[:1]),
        language=locale.replace("_", "-") if locale else None,
        sources={"_": "opengraph"},
    )
    if og != Post():
        out.append(og)

    title = document_title(soup)
    name = _one(meta, "author")
    plain = Post(
        title=_strip_site(title, site) if title else None,
        summary=_one(meta, "description"),
        author=Author(name=name) if name else None,
        # Keywords are an older, vaguer habit than article:tag: only when there is none.
        tags=() if tags else unique_names(k for v in meta.get("keywords", ()) for k in v.split(",")),
        language=language(soup),
        sources={"_": "meta"},
    )
    if plain != Post():
        out.append(plain)

    canonical = canonical_url(soup, url)
    if canonical:
        out.append(Post(url=canonical, sources={"_": "rel-canonical"}))
    return out


def icons(soup: BeautifulSoup, base: str) -> tuple[Media, ...]:
    """The site's icons, largest first: apple-touch-icon, rel=icon, WordPress's tile image.

    WordPress prints its Site Icon as <link rel="icon" sizes="32x32|192x192">,
    <link rel="apple-touch-icon"> (180x180) and <meta name="msapplication-TileImage">
    (270x270) (wp-includes/general-template.php, wp_site_icon).
    """
    found: list[tuple[int, int, Media]] = []
    for order, el in enumerate(_head(soup).find_all("link", href=True)):
        rels = [r.lower() for r in tokens(el, "rel")]
        if not {"icon", "apple-touch-icon", "apple-touch-icon-precomposed"} & set(rels):
            continue
        size = 180 if "apple-touch-icon" in rels else 0
        match = _SIZE.search(attr(el, "sizes") or "")
        if match:
            size = int(match.group(1))
        href = (attr(el, "href") or "").strip()
        found.append((size, -order, Media(url=urljoin(base, href), mime_type=attr(el, "type"))))
    tile = _one(_meta(soup), "msapplication-tileimage")
    if tile:
        found.append((270, 0, Media(url=urljoin(base, tile))))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return tuple(dict.fromkeys(m for _, _, m in found))


def profiles_from_meta(soup: BeautifulSoup, url: str, *, home: bool = True) -> list[Profile]:
    """Site-level facts: OpenGraph site name; the site name, description, icons and language.

    On a post page (`home=False`) the <title> and description describe the post, not the
    site, so only og:site_name, application-name, icons and language are taken.
    """
    meta = _meta(soup)
    out: list[Profile] = []
    og_site = _one(meta, "og:site_name")
    og = Profile(site_name=og_site, name=og_site,
                 summary=_one(meta, "og:description") if home else None,
                 sources={"_": "opengraph"})
    if og != Profile():
        out.append(og)
    site = _one(meta, "application-name")
    title = document_title(soup)
    if not site and title and home:
        # A home page's <title> is "Site – Tagline" on WordPress; keep the site part.
        site = title
        for sep in _TITLE_SEPARATORS:
            if sep in title:
                site = title.split(sep, 1)[0].strip()
                break
    found = icons(soup, url)
    plain = Profile(name=site, site_name=site,
                    summary=_one(meta, "description") if home else None,
                    icon=found[0] if found else None, language=language(soup),
                    sources={"_": "meta"})
    if plain != Profile():
        out.append(plain)
    return out
