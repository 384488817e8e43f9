"""The page's visible markup as a source ("html"): what a reader sees of a post on a page
with no h-entry (block themes, Hugo, Ghost, Jekyll and Eleventy themes, hand-made HTML).

Pure: the page's parsed tree (shared with mf2py and metaformats: only read, never changed)
in, a partial post out. The article body is found and cleaned by bridge/blog/body.py; the
rest is read here from the post's element (its `<article>`, else `<main>`, else the
body's container), then from the page, outside the site's chrome (bridge/blog/chrome.py):
- the byline: `<a rel=author>`, a microdata `itemprop=author`, else a `.byline`/`.author`;
- tags and categories: the names of links to the site's /tag(s)/x/ and /categor(y|ies)/x/
  pages, and of rel=tag links (only the article's when there is an `<article>`);
- the cover: a CSS background-image of the post's header or hero, else its first picture;
- the date: a published `<time datetime>` of the post's header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from bridge.blog import chrome
from bridge.blog import content as content_html
from bridge.blog.body import Found, find_article, tags_of
from bridge.blog.content import attr, tokens
from bridge.blog.post import Author, Media, Post, parse_date_or_datetime

SOURCE = "html"
_BY = re.compile(r"^(?:(?:posted|written|published)\s+)?by\s*:?\s+", re.IGNORECASE)
# "View all posts by Jo", "View all of Jo's posts." (WordPress's author links), "More from Jo".
_ALL_POSTS = re.compile(r"^(?:(?:view|see|read|browse)\s+)?(?:all|more)\s+(?:(?:posts|articles|stories)\s+)?"
                        r"(?:by|of|from)\s+(?P<name>.+?)(?:['\u2019]s\s+(?:posts|articles|stories))?\s*[.\u2026]*$",
                        re.IGNORECASE)
# What follows a name in a byline: "Jo · 9 January 2021", "Jo on March 14", "Jo | 5 min".
_AFTER_NAME = re.compile(r"\s+(?:[·•|—–-]|on)\s+.*$|,\s.*$", re.IGNORECASE)
_BACKGROUND = re.compile(r"background(?:-image)?\s*:[^;]*?url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE)


# --- what the post's frame says -------------------------------------------------------

def _text(el: Tag) -> str:
    return " ".join(el.get_text().split())


def _author_from_microdata(el: Tag, url: str) -> Author:
    def prop(name: str) -> Tag | None:
        return next((t for t in tags_of(el) if name in (attr(t, "itemprop") or "").split()), None)

    name_el, url_el, image_el = prop("name"), prop("url"), prop("image")
    name = (attr(name_el, "content") or _text(name_el)) if name_el is not None else (
        attr(el, "content") or _text(el))
    link = url_el if url_el is not None else (el if el.name in ("a", "link") else el.find("a", href=True))
    href = (attr(link, "href") or attr(link, "content")) if isinstance(link, Tag) else None
    image = (attr(image_el, "src") or attr(image_el, "content")) if image_el is not None else None
    return Author(name=_short(name), url=urljoin(url, href.strip()) if href else None,
                  photo=urljoin(url, image.strip()) if image else None)


def _short(text: str | None) -> str | None:
    """A byline's name: "By Jo", "View all posts by Jo" → "Jo"; None for a sentence."""
    name = " ".join((text or "").split())
    if match := _ALL_POSTS.match(name):
        name = match.group("name")
    name = _AFTER_NAME.sub("", _BY.sub("", name)).strip(" ,·|–—-")
    return name if name and len(name) <= 60 and len(name.split()) <= 6 else None


def _byline(elements: tuple[Tag, ...], url: str) -> Author | None:
    for a in elements:
        if a.name == "a" and "author" in tokens(a, "rel") and a.has_attr("href") and (name := _short(_text(a))):
            return Author(name=name, url=urljoin(url, (attr(a, "href") or "").strip()))
    for el in elements:
        if "author" in (attr(el, "itemprop") or "").split():
            author = _author_from_microdata(el, url)
            if author.name:
                return author
    for el in elements:
        if chrome.is_byline(el) and (name := _short(_text(el))):
            href = (attr(el, "href") if el.name == "a" else None) or _single_href(el)
            return Author(name=name, url=urljoin(url, href) if href else None)
    return None


def author_of(found: Found, url: str) -> Author | None:
    """The visible byline: <a rel=author>, microdata author, else a .byline/.author text;
    the post element's, else one elsewhere on the page (a post header above it)."""
    return next(filter(None, (_byline(region, url) for region in found.regions())), None)


def _single_href(el: Tag) -> str | None:
    hrefs = {(attr(a, "href") or "").strip() for a in el.find_all("a", href=True)}
    return hrefs.pop() if len(hrefs) == 1 else None


def _prose(a: Tag) -> bool:
    """Whether a link sits in a sentence (a paragraph that says more than its links)."""
    block = a.find_parent(["p", "li"])
    if block is None:
        return False
    links = sum(len(_text(x)) for x in block.find_all("a"))
    return len(_text(block)) - links >= 60


def terms_of(found: Found, url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories, tags): the names of the post's links to its tag and category pages,
    and of its other rel=tag links (tags), in order, without repeats: the <article>'s if
    the post has one, else the page's."""
    out: dict[str, dict[str, None]] = {"categories": {}, "tags": {}}
    links = (a for region in found.regions(page=found.scope.name != "article") for a in region
             if a.name == "a" and a.has_attr("href"))
    for a in links:
        rels = tokens(a, "rel")
        kind = chrome.term_kind(attr(a, "href") or "", url)
        if kind is None and "tag" in rels:
            kind = "categories" if "category" in rels else "tags"
        elif kind is None or ("tag" not in rels and _prose(a)):
            continue
        name = _text(a).lstrip("#").strip()
        if name and len(name) <= 100:
            out[kind].setdefault(name, None)
    return tuple(out["categories"]), tuple(out["tags"])


def _heroes(found: Found) -> Iterator[Tag]:
    """The post's header and hero elements: the post's own <header>s first, then any
    hero/cover/featured-image element of the page outside the site's chrome."""
    if not found.page_level:  # the page's <header> is the site's
        yield from (el for el in found.frame if el.name == "header")
    yield from (el for el in found.page_frame if chrome.is_hero(el))


def cover_of(found: Found, url: str) -> Media | None:
    """The cover image: a CSS background-image of the post's header or hero element
    (its style attribute), else the first picture in it that is no avatar or logo."""
    heroes = [hero for hero in _heroes(found) if not found.in_body(hero)]
    for hero in heroes:
        for el in (hero, *hero.find_all(style=True)):
            match = _BACKGROUND.search(attr(el, "style") or "")
            if match and match.group(2).strip() and not match.group(2).startswith("data:"):
                return Media(url=urljoin(url, match.group(2).strip()))
    for hero in heroes:
        for img in ([hero] if hero.name == "img" else hero.find_all("img")):
            if not chrome.is_portrait(img, hero):
                media = content_html.image_of(img, url)
                if media is not None:
                    return media
    return None


def _dates(elements: tuple[Tag, ...], found: Found) -> list[tuple[int, str]]:
    """(rank, value) of the publication dates among elements: 0 for a datePublished or
    "published" one, 1 in a header or the post's frame, 2 elsewhere; none "updated"."""
    ranked: list[tuple[int, str]] = []
    for el in elements:
        if el.name not in ("time", "meta"):
            continue
        value = attr(el, "datetime") if el.name == "time" else None
        props = (attr(el, "itemprop") or "").split()
        if "datePublished" in props:
            value = attr(el, "datetime") or attr(el, "content")
        if not value or "dateModified" in props or found.in_body(el):  # in_body: a date in the text
            continue
        classes = set(tokens(el, "class"))
        if classes & {"updated", "modified", "dt-updated"} and not classes & {"published", "dt-published"}:
            continue
        if "datePublished" in props or classes & {"published", "dt-published"}:
            rank = 0
        elif el.find_parent("header") is not None or chrome.in_frame(el, found.scope):
            rank = 1
        else:
            rank = 2
        ranked.append((rank, value))
    return sorted(ranked, key=lambda pair: pair[0])


def published_of(found: Found) -> datetime | None:
    """The post's date: a datePublished or "published" <time>, else the first <time> in
    the post's header, else the first outside its body (never an "updated" one); the
    post element's, else one elsewhere on the page."""
    for region in found.regions():
        for _, value in _dates(region, found):
            when = parse_date_or_datetime(value)
            if when is not None:
                return when
    return None


def post_from_html(soup: BeautifulSoup, url: str) -> Post:
    """A partial post from the page's visible markup (sources {"_": "html"})."""
    found = find_article(soup, url)
    tree = found.tree
    categories, tags = terms_of(found, url)
    return Post(
        content_html=found.html,
        author=author_of(found, url),
        published=published_of(found),
        categories=categories,
        tags=tags,
        featured=cover_of(found, url),
        photos=content_html.images_in(tree, url) if tree is not None else (),
        videos=content_html.media_in(tree, url, "video") if tree is not None else (),
        audio=content_html.media_in(tree, url, "audio") if tree is not None else (),
        mentions=content_html.mentions_in(tree, url) if tree is not None else (),
        sources={"_": SOURCE},
    )
