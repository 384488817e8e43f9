"""Post content HTML: cleaning it, and reading images, media and mentions out of it.

Pure: HTML text in, HTML text and dataclasses out. This is not the sanitiser (what may be
sent to the fediverse is decided when the post becomes AS2); it removes what is not the
post — theme and plugin chrome — and makes every URL absolute, so that every source of
content (the page, WordPress's REST API, the feed) ends up comparable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, PageElement, Tag

from bridge.blog.post import Media, Mention

# Elements that are never part of a post's text.
_CHROME_TAGS = ("script", "style", "template", "form", "button", "input", "select",
                "textarea", "link", "meta")
# Classes and ids of share buttons, like buttons, related posts and comment boxes that
# plugins append inside the content (Jetpack "sharedaddy"/"jp-relatedposts", AddToAny
# "addtoany_share_save_container", Shareaholic, comment blocks of block themes).
_CHROME_CLASSES = frozenset({
    "sharedaddy", "sd-sharing", "sd-block", "sd-like", "jp-relatedposts",
    "jetpack-likes-widget-wrapper", "addtoany_share_save_container", "addtoany_share",
    "a2a_kit", "shareaholic-canvas", "share-buttons", "social-share", "sharing",
    "wp-block-comments", "comments-area", "comment-respond", "post-navigation",
    "webmention-form",
})
_CHROME_IDS = frozenset({"jp-post-flair", "comments", "respond", "jp-relatedposts"})
# WordPress replaces emoji by <img class="wp-smiley"> in feeds and old browsers
# (wp-includes/formatting.php, wp_staticize_emoji); twemoji uses class "emoji".
_EMOJI_CLASSES = frozenset({"wp-smiley", "emoji"})
_URL_ATTRS = ("href", "src", "poster", "cite", "data")
_SPACE = re.compile(r"\s+")
_HANDLE = re.compile(r"^@[\w.-]+(@[\w-]+(\.[\w-]+)+)?$")


def fragment(html: str) -> BeautifulSoup:
    """Parse an HTML fragment (lxml, through BeautifulSoup)."""
    return BeautifulSoup(html, "lxml")


def attr(el: Tag, name: str) -> str | None:
    """An attribute as one string (BeautifulSoup gives lists for class, rel…)."""
    value = el.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def tokens(el: Tag, name: str) -> list[str]:
    """A space-separated attribute (class, rel) as its tokens."""
    return (attr(el, name) or "").split()


def _nodes(soup: BeautifulSoup) -> Iterable[PageElement]:
    return soup.body.contents if soup.body else soup.contents


def _classes(el: Tag) -> set[str]:
    return set(tokens(el, "class"))


def _absolute_srcset(value: str, base: str) -> str:
    parts = []
    for candidate in value.split(","):
        bits = candidate.strip().split(None, 1)
        if bits:
            bits[0] = urljoin(base, bits[0])
            parts.append(" ".join(bits))
    return ", ".join(parts)


def _clean_in_place(root: Tag, base_url: str) -> None:
    for comment in root.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for el in root.find_all(_CHROME_TAGS):
        el.decompose()
    for el in root.find_all(True):
        if el.decomposed:
            continue
        if el.get("id") in _CHROME_IDS or _classes(el) & _CHROME_CLASSES:
            el.decompose()
            continue
        if el.name == "img" and _classes(el) & _EMOJI_CLASSES:
            el.replace_with(attr(el, "alt") or "")
            continue
        for name in _URL_ATTRS:
            value = attr(el, name)
            if value and value.strip():
                el[name] = urljoin(base_url, value.strip())
        srcset = attr(el, "srcset")
        if srcset:
            el["srcset"] = _absolute_srcset(srcset, base_url)


def clean_content(html: str, base_url: str) -> str:
    """The post's HTML without chrome, comments or emoji images, with absolute URLs."""
    soup = fragment(html)
    _clean_in_place(soup, base_url)
    return "".join(str(node) for node in _nodes(soup)).strip()


def clean_tree(root: Tag, base_url: str) -> str:
    """clean_content for a tree the caller owns (a copy: it is changed in place), without
    serialising and parsing it again: its inner HTML, cleaned."""
    _clean_in_place(root, base_url)
    return "".join(str(node) for node in root.contents).strip()


def text_of(html: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return _SPACE.sub(" ", fragment(html).get_text()).strip()


def squash(text: str) -> str:
    """Text without any whitespace, for comparisons that must ignore layout."""
    return "".join(text.split())


def _tree(html: str | Tag) -> Tag:
    return fragment(html) if isinstance(html, str) else html


def largest_candidate(srcset: str) -> str | None:
    """The largest image of a srcset ("a.jpg 480w, b.jpg 1024w", or "1x, 2x" densities)."""
    best: tuple[float, str] | None = None
    for candidate in srcset.split(","):
        bits = candidate.strip().split()
        if not bits or bits[0].startswith("data:"):
            continue
        size = 1.0
        if len(bits) > 1 and bits[1][-1:] in ("w", "x"):
            try:
                size = float(bits[1][:-1])
            except ValueError:
                continue
        if best is None or size > best[0]:
            best = (size, bits[0])
    return best[1] if best else None


def image_source(img: Tag) -> str | None:
    """An <img>'s picture: its src (or lazy-loading data-src), else the largest candidate
    of its srcset, else of its <picture>'s <source>s: one picture however many sizes."""
    for name in ("src", "data-src"):
        value = (attr(img, name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    sets = [attr(img, "srcset") or attr(img, "data-srcset")]
    picture = img.find_parent("picture")
    if picture is not None:
        sets += [attr(s, "srcset") for s in picture.find_all("source")]
    for srcset in sets:
        if srcset and (found := largest_candidate(srcset)):
            return found
    return None


def image_of(el: Tag, base_url: str) -> Media | None:
    """The picture an element shows: itself if an <img>, else its first <img> (a <picture>
    with several <source> sizes is one picture), with its alt text."""
    img = el if el.name == "img" else el.find("img")
    if not isinstance(img, Tag) or _classes(img) & _EMOJI_CLASSES:
        return None
    src = image_source(img)
    if not src:
        return None
    return Media(url=urljoin(base_url, src), alt=(attr(img, "alt") or "").strip() or None)


def images_in(html: str | Tag, base_url: str) -> tuple[Media, ...]:
    """The pictures a reader sees in the content (not emoji, not tracking pixels).

    `html` is the content's HTML, or a tree of it already parsed."""
    out: dict[str, Media] = {}
    for img in _tree(html).find_all("img"):
        if attr(img, "width") in ("0", "1") or attr(img, "height") in ("0", "1"):
            continue
        media = image_of(img, base_url)
        if media is not None:
            out.setdefault(media.url, media)
    return tuple(out.values())


def media_in(html: str | Tag, base_url: str, tag: str) -> tuple[Media, ...]:
    """The <video> or <audio> files in the content, with their declared types."""
    out: dict[str, Media] = {}
    for el in _tree(html).find_all(tag):
        candidates = [el, *el.find_all("source")]
        for node in candidates:
            src = attr(node, "src")
            if src and src.strip():
                url = urljoin(base_url, src.strip())
                out.setdefault(url, Media(url=url, mime_type=attr(node, "type")))
    return tuple(out.values())


def mentions_in(html: str | Tag, base_url: str) -> tuple[Mention, ...]:
    """Links to people's profiles: an "@name" or "@name@host" link, or a "mention" class.

    This is how Mastodon, WordPress's ActivityPub plugin and most fediverse software
    mark mentions up (`<a class="u-url mention" href="…/@alice">@alice</a>`).
    """
    out: dict[str, Mention] = {}
    for a in _tree(html).find_all("a", href=True):
        text = _SPACE.sub("", a.get_text())
        classes = _classes(a)
        if "hashtag" in classes or text.startswith("#"):
            continue
        if "mention" in classes or "u-mention" in classes or _HANDLE.match(text):
            url = urljoin(base_url, (attr(a, "href") or "").strip())
            if url.startswith(("http://", "https://")):
                out.setdefault(url, Mention(url=url, name=text or None))
    return tuple(out.values())


def is_excerpt_of(summary: str, content_text: str) -> bool:
    """Whether a summary only repeats the start of the content (an automatic excerpt).

    WordPress writes one when the author wrote none: the first 55 words, then "[…]"
    or "…" and, in some themes, a "Continue reading" link (wp_trim_excerpt). A feed's
    <description> and og:description are usually the same thing.
    """
    head = squash(summary)
    body = squash(content_text)
    if not head or not body:
        return False
    for mark in ("[…]", "[&hellip;]", "[...]", "…", "..."):
        if mark in head:
            head = head.split(mark, 1)[0]
            break
    return bool(head) and body.startswith(head)
