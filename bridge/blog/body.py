"""Where a page's post is: its element, and the element holding its body (cleaned).

For bridge/blog/article.py, on pages with no h-entry. The markup is trusted first:
`[itemprop=articleBody]`; the content element of the page's `<article>` (`.entry-content`,
`.post-content`…) or the `<article>` itself; the same inside `<main>`, or `<main>`; a
content element anywhere. Only when the markup says nothing is the element holding the
most paragraph text chosen by a score (readability-style, penalising links); such a body,
or a bare `<main>`, must hold about a short paragraph, and is trimmed of what plain pages
keep around the post's text (the site's name above the title, a date-and-tags line, a
back link, a copyright line).

The page's tree is shared (mf2py, metaformats): the body is copied, and only the copy is
stripped (bridge/blog/chrome.py) and cleaned (bridge/blog/content.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from bs4 import BeautifulSoup, Comment, Tag

from bridge.blog import chrome
from bridge.blog import content as content_html
from bridge.blog.content import attr, tokens

# A body found by its markup needs some text (or a picture); one found by the score, or
# a bare <main>, needs about a short paragraph, or it is probably not the post.
MIN_WEAK_TEXT = 80
# The classes of the element holding a post's body, most specific first (WordPress,
# Ghost "gh-content", Hugo and Jekyll themes "post-content", GitHub-style "markdown-body").
_BODY_CLASSES = ("e-content", "entry-content", "post-content", "article-content", "article-body",
                 "post-body", "entry-body", "post__content", "article__content", "entry__content",
                 "article__body", "gh-content", "post-entry", "blog-post-content", "single-content",
                 "markdown-body", "prose", "content")
_BODY_RANK = {name: rank for rank, name in enumerate(_BODY_CLASSES)}
_COPYRIGHT = re.compile(r"^(©|\(c\)|copyright\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """A page's post: its element (where its byline, terms, cover and date are) and body."""

    page: Tag  # the page's <body> (or the document)
    scope: Tag  # the post's <article>, else <main>, else the body's own container, else the page
    body: Tag | None  # the element holding the body, None if nothing is convincing
    tree: Tag | None = None  # the body's cleaned copy
    html: str | None = None  # its HTML

    @property
    def page_level(self) -> bool:
        """The post's element is the page: its <header> and <footer> are the site's."""
        return self.scope is self.page

    @cached_property
    def frame(self) -> tuple[Tag, ...]:
        """The post element's elements outside the site's chrome, in document order."""
        return tuple(chrome.outside_noise(self.scope, page_level=self.page_level))

    @cached_property
    def page_frame(self) -> tuple[Tag, ...]:
        """The page's elements outside the site's chrome (a post header outside the
        post's element counts: chrome.inside_noise)."""
        return self.frame if self.page_level else tuple(chrome.outside_noise(self.page, page_level=True))

    @cached_property
    def around(self) -> tuple[Tag, ...]:
        """The page's elements outside the site's chrome and outside the post's element."""
        if self.page_level:
            return ()
        inside = {id(t) for t in tags_of(self.scope)}
        return tuple(t for t in self.page_frame if id(t) not in inside and t is not self.scope)

    def regions(self, *, page: bool = True) -> tuple[tuple[Tag, ...], ...]:
        """Where to look for what the post's frame says: its element, then (with `page`)
        the rest of the page."""
        return (self.frame, self.around) if page and not self.page_level else (self.frame,)

    def in_body(self, el: Tag) -> bool:
        """Whether `el` is inside the body element, when that is not the post's element
        (a date or a cover block in the text is the text's)."""
        body = self.body
        return body is not None and body is not self.scope and any(p is body for p in el.parents)


def tags_of(root: Tag) -> Iterator[Tag]:
    """The elements inside `root`, in document order (faster than bs4's find_all filters)."""
    return (d for d in root.descendants if isinstance(d, Tag))


def _main_article(page: Tag) -> Tag | None:
    """The page's post <article>: not nested in another, not a comment or a related post;
    the one with the most text when there are several."""
    found = [a for a in tags_of(page) if a.name == "article"
             and not chrome.inside_noise(a, None, page_level=True) and a.find_parent("article") is None]
    if len(found) > 1:
        return max(found, key=lambda a: len(a.get_text()))
    return found[0] if found else None


def _body_element(scope: Tag, *, generic: bool, page_level: bool) -> Tag | None:
    """The element with the most specific body class in `scope` (first of its rank);
    "content" alone only inside an <article> or <main> (a page's #content is the page)."""
    best: Tag | None = None
    rank = len(_BODY_CLASSES)
    for el in tags_of(scope):
        for token in tokens(el, "class"):
            r = _BODY_RANK.get(token)
            if r is not None and r < rank and (generic or token != "content") \
                    and not chrome.inside_noise(el, scope, page_level=page_level):
                best, rank = el, r
    return best


def _scored(root: Tag) -> Tag | None:
    """The element holding the most paragraph text, readability-style: each <p> adds its
    text (less its links' text) to its parent and half to its grandparent; an element's
    score is then lowered by the share of its text inside links."""
    scores: dict[int, tuple[Tag, float]] = {}
    for p in tags_of(root):
        if p.name != "p" or chrome.inside_noise(p, root, page_level=True):
            continue
        text = len(" ".join(p.get_text().split()))
        if text < 25:
            continue
        value = text - sum(len(a.get_text().strip()) for a in p.find_all("a"))
        for el, share in ((p.parent, 1.0), (p.parent.parent if p.parent else None, 0.5)):
            if isinstance(el, Tag):
                before = scores.get(id(el), (el, 0.0))[1]
                scores[id(el)] = (el, before + value * share)
    best: tuple[float, Tag] | None = None
    for el, score in scores.values():
        text = len(el.get_text()) or 1
        links = sum(len(a.get_text()) for a in el.find_all("a"))
        score *= 1 - min(links / text, 1.0)
        if best is None or score > best[0]:
            best = (score, el)
    return best[1] if best else None


def _candidates(article: Tag | None, main: Tag | None, page: Tag) -> Iterator[tuple[Tag, bool]]:
    """Possible bodies, best first, each with whether markup (not a score) names it."""
    for el in tags_of(page):
        if "articleBody" in (attr(el, "itemprop") or "").split() \
                and not chrome.inside_noise(el, None, page_level=True):
            yield el, True
    for scope in (article, main):
        if scope is not None:
            inner = _body_element(scope, generic=True, page_level=False)
            if inner is not None:
                yield inner, True
            yield scope, scope is article
    inner = _body_element(page, generic=False, page_level=True)
    if inner is not None:
        yield inner, True
    scored = _scored(page)
    if scored is not None:
        yield scored, False


def _text(el: Tag) -> str:
    return " ".join(el.get_text().split())


def _trim(tree: Tag, url: str) -> None:
    """What plain pages keep around a post's text, gone from a weak body's copy: all
    before the first <h1> (the site's name, then the title), lines made of tag and
    category links, and at the end rules, bare links ("← all posts") and copyright lines."""
    title = tree.find("h1")
    if isinstance(title, Tag):
        for node in (title, *title.parents):
            if node is tree:
                break
            for before in list(node.previous_siblings):
                before.extract()
        title.decompose()
    for el in tree.find_all(["p", "li", "ul", "ol", "div"]):
        links = [] if el.decomposed else el.find_all("a", href=True)
        if links and all(chrome.is_term_link(a, url) for a in links) \
                and len(_text(el)) - sum(len(_text(a)) for a in links) < 40:
            el.decompose()
    while (last := next((c for c in reversed(tree.contents) if isinstance(c, Tag)), None)) is not None:
        text = _text(last)
        bare_link = bool(text) and len(text) < 60 and text == " ".join(_text(a) for a in last.find_all("a"))
        if last.name == "hr" or bare_link or (len(text) < 100 and _COPYRIGHT.match(text)):
            last.decompose()
        else:
            break


def _cleaned(body: Tag, url: str, page_title: str | None, strong: bool) -> tuple[Tag, str]:
    """A copy of the body without the post's frame and the site's chrome, cleaned."""
    tree = copy.copy(body)  # the page's tree is shared: only a copy is changed
    chrome.strip(tree, page_title)
    if not strong:
        _trim(tree, url)
    _unwrap(tree)
    return tree, content_html.clean_tree(tree, url)


def _unwrap(tree: Tag) -> None:
    """A lone layout wrapper (`<div class="container">` holding all the text) dropped."""
    while True:
        children = [c for c in tree.contents
                    if isinstance(c, Tag) or (str(c).strip() and not isinstance(c, Comment))]
        if len(children) != 1 or not isinstance(children[0], Tag) or children[0].name not in ("div", "section"):
            return
        children[0].unwrap()


def _convincing(tree: Tag, strong: bool) -> bool:
    text = len(_text(tree))
    if strong:
        return text > 0 or tree.find(["img", "video", "audio", "picture"]) is not None
    return text >= MIN_WEAK_TEXT


def _scope(body: Tag, article: Tag | None, main: Tag | None, page: Tag) -> Tag:
    """The post's element for a body: the <article> or <main> holding it; else, for a
    body named by markup (a content class, articleBody), its container; else the body."""
    for landmark in (article, main):
        if landmark is not None and any(p is landmark for p in (body, *body.parents)):
            return landmark
    named = "articleBody" in (attr(body, "itemprop") or "").split() or any(
        t in _BODY_RANK for t in tokens(body, "class"))
    if named and isinstance(body.parent, Tag) and body.parent is not page and body.parent.name != "html":
        return body.parent
    return body


def find_article(soup: BeautifulSoup, url: str) -> Found:
    """The post's element and its body (cleaned), or no body if nothing is convincing."""
    page = soup.body if isinstance(soup.body, Tag) else soup
    article = _main_article(page)
    main = next((m for m in tags_of(page) if m.name == "main"
                 and not chrome.inside_noise(m, None, page_level=True)), None)
    title = soup.find("title")
    page_title = title.get_text() if isinstance(title, Tag) else None
    for body, strong in _candidates(article, main, page):
        tree, html = _cleaned(body, url, page_title, strong)
        if html and _convincing(tree, strong):
            return Found(page=page, scope=_scope(body, article, main, page), body=body, tree=tree, html=html)
    return Found(page=page, scope=article or main or page, body=None)
