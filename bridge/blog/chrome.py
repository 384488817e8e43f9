"""Telling a post from what surrounds it on a page, by its elements' names and classes.

Three kinds of element around a post's body (bridge/blog/article.py):
- noise: never the post's: comments, share bars, related posts, post navigation,
  sidebars and widgets, newsletter boxes, the site's header and footer, hidden elements;
- the post's frame: its own header (title, date line), byline, tag and category lists,
  footer, author box. Not body either, but where the byline, terms, date and cover are;
- the body: the rest.
Class names are matched as whole tokens (or dash-separated words of them): "comments",
"comment-list", "post-navigation"; never a bare substring, so a syntax highlighter's
"hljs-comment", a wrapper's "has-sidebar" state class or Genesis's "content-sidebar-wrap"
(which holds the post) is not mistaken for chrome.
Pure: BeautifulSoup elements in, answers out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from bs4 import Tag

from bridge.blog.content import attr, tokens

_NOISE = re.compile(
    r"comments?|comment-(list|section|area|form|respond|wrapper|container|thread|template)"
    r"|commentlist|comments-(area|section|wrapper|container|list|title|link)|wp-block-comments"
    r"|disqus_thread|respond|webmentions?"
    r"|.*(share|sharing|social).*|.*related.*"
    r"|.*(navigation|pagination|breadcrumbs?).*|(post|nav|page|entry)-(nav|links|prev|previous|next)"
    r"|nav-(previous|next|links)|.*(prev-?next|next-?prev).*|pager|skip-link"
    r"|newsletter.*|subscribe.*|subscription|site-(header|footer|nav|branding)"
    r"|sidebar([-_][a-z0-9]+)?|[a-z0-9]+[-_]sidebar|widgets?([-_].*)?|.*advert.*|sponsored|cookie.*"
    r"|hidden|is-hidden|d-none|sr-only|visually-hidden|screen-reader-text")
_FRAME = re.compile(
    r"(post|entry|article|page|single)[-_](header|title|meta|metadata|footer|info|tags|categories|date"
    r"|author|byline|taxonomies|details)|entry-title|byline|meta|metadata|cat-links|tags?-links|tags|tag-list"
    r"|taxonomy-.*|posted-(on|by)|author-(box|bio|info|card)|about-author"
    r"|wp-block-post-(title|date|terms|author.*)")
_BYLINE = re.compile(r"byline|author|p-author|(post|entry|article)[-_]author|author[-_]name|.*author__name"
                     r"|posted-by")
_HERO = re.compile(r"(.*[-_])?(hero|cover)([-_].*)?|.*featured[-_]?image.*|.*feature[-_]image.*"
                   r"|post[-_]thumbnail|(post|article|entry|page)[-_](full[-_])?(image|header)")
_PORTRAIT = re.compile(r"avatar|logo|author|byline|gravatar|emoji|icon|profile", re.IGNORECASE)
# Wrappers announce what they hold ("has-sidebar", "with-comments"): not chrome themselves.
_STATE = ("has-", "with-", "no-", "is-layout", "wp-container")
_SIDE_TAGS = frozenset({"nav", "aside", "form", "dialog"})
_SITE_TAGS = frozenset({"header", "footer"})
_STRIP_TAGS = ("nav", "header", "footer", "aside", "form", "dialog", "script", "style", "noscript",
               "template", "button", "input", "select", "textarea")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TERM_SEGMENTS = {"tag": "tags", "tags": "tags", "category": "categories", "categories": "categories"}


@lru_cache(maxsize=4096)
def _matches(pattern: re.Pattern[str], token: str) -> bool:
    token = token.lower()
    return not token.startswith(_STATE) and pattern.fullmatch(token) is not None


def _names(el: Tag) -> list[str]:
    names = tokens(el, "class")
    ident = attr(el, "id")
    return [*names, ident] if ident else names


def is_noise(el: Tag) -> bool:
    """Comments, share bars, related posts, navigation, sidebars, hidden elements."""
    return any(_matches(_NOISE, n) for n in _names(el)) or is_hidden(el)


def is_frame(el: Tag) -> bool:
    """The post's own header, title, date line, byline, terms, footer or author box."""
    return any(_matches(_FRAME, n) for n in _names(el))


def is_byline(el: Tag) -> bool:
    return any(_matches(_BYLINE, n) for n in tokens(el, "class"))


def is_hero(el: Tag) -> bool:
    """A post's hero, cover or featured-image element, or its header by class."""
    return any(_matches(_HERO, n) for n in tokens(el, "class"))


def is_hidden(el: Tag) -> bool:
    return el.has_attr("hidden") or bool(_HIDDEN_STYLE.search(attr(el, "style") or ""))


def is_portrait(img: Tag, stop: Tag) -> bool:
    """Whether an image is an avatar, a logo or an icon (by its own names or its
    containers' up to `stop`), not a cover."""
    own = " ".join((*tokens(img, "class"), attr(img, "alt") or "", attr(img, "src") or ""))
    if _PORTRAIT.search(own):
        return True
    for parent in img.parents:
        if parent is stop:
            break
        if _PORTRAIT.search(" ".join(_names(parent))):
            return True
    return False


def _chrome(el: Tag, page_level: bool) -> bool:
    """Noise; at the page's level also a <header> or <footer>: the site's, unless it is
    marked as the post's header or hero ("post-header", "hero"…)."""
    return el.name in _SIDE_TAGS or is_noise(el) or (
        page_level and el.name in _SITE_TAGS and not (el.name == "header" and is_hero(el)))


def inside_noise(el: Tag, stop: Tag | None, *, page_level: bool) -> bool:
    """Whether `el` or a container of it below `stop` is noise. `page_level`: `stop` is the
    page (or None), so a <header> or <footer> on the way is the site's."""
    node: Tag | None = el
    while node is not None and node is not stop and node.name not in ("body", "html", "[document]"):
        if _chrome(node, page_level):
            return True
        node = node.parent
    return False


def outside_noise(root: Tag, *, page_level: bool) -> list[Tag]:
    """The elements inside `root` in document order, but for noise and what it holds
    (one walk: what inside_noise answers for each of them)."""
    out: list[Tag] = []

    def walk(el: Tag) -> None:
        for child in el.children:
            if isinstance(child, Tag) and not _chrome(child, page_level):
                out.append(child)
                walk(child)

    walk(root)
    return out


def in_frame(el: Tag, stop: Tag) -> bool:
    """Whether `el` sits in the post's frame (its header, meta line, byline…) below `stop`."""
    node: Tag | None = el
    while node is not None and node is not stop:
        if node.name == "header" or is_frame(node):
            return True
        node = node.parent
    return False


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def term_kind(href: str, url: str) -> str | None:
    """"tags" or "categories" for a link to a tag or category page of the site at `url`
    (…/tag/x/, …/tags/x/, …/category/a/b/, …/categories/x/ under any base path)."""
    target = urljoin(url, href.strip())
    if _host(target) != _host(url):
        return None
    segments = [s for s in urlsplit(target).path.split("/") if s]
    for i, segment in enumerate(segments[:-1]):
        kind = _TERM_SEGMENTS.get(segment.lower())
        if kind is not None:
            rest = {s.lower() for s in segments[i + 1:]}
            return None if rest & {"page", "feed"} else kind
    return None


def is_term_link(a: Tag, url: str) -> bool:
    """A link to one of the site's tag or category pages, or a rel=tag link."""
    return "tag" in tokens(a, "rel") or term_kind(attr(a, "href") or "", url) is not None


def _squashed(text: str) -> str:
    return "".join(text.split()).casefold()


def strip(tree: Tag, page_title: str | None = None) -> None:
    """Remove noise and the post's frame from a body's copy (in place): the site's and
    the post's header and footer, nav, aside, forms, scripts, hidden elements, share bars,
    comments, related posts, and the title: a heading before any paragraph that is an
    <h1> or is part of the page's <title>. Code is left alone."""
    for el in tree.find_all(_STRIP_TAGS):
        el.decompose()
    code = {id(d) for block in tree.find_all(["pre", "code"]) for d in block.descendants}
    for el in tree.find_all(True):
        if el.decomposed or id(el) in code:
            continue
        if is_noise(el) or is_frame(el):
            el.decompose()
    heading = tree.find(["h1", "h2", "h3"])
    if isinstance(heading, Tag) and heading.find_previous("p") is None:
        text = _squashed(heading.get_text())
        if heading.name == "h1" or (text and page_title and text in _squashed(page_title)):
            heading.decompose()
