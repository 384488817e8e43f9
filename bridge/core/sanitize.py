"""HTML that is safe to send to the fediverse: an allow-list, applied by nh3 (ammonia).

Pure: HTML text in, HTML text out. Every receiving server sanitises again, but not all
of them well, and the same HTML is shown on the bridge's own pages: nothing that runs
script, loads a frame or styles the page leaves the bridge. The allow-list follows what
Mastodon keeps from remote posts (app/lib/sanitize_ext/sanitize_config.rb,
MASTODON_STRICT), plus headings and a few inline elements a blog post uses, which
other servers (Misskey, Akkoma, GoToSocial) render.
"""

from __future__ import annotations

import re

import nh3

TAGS = frozenset({
    "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i", "em",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "sup", "sub", "hr", "abbr", "q",
    "ruby", "rt", "rp",
})
# Removed with everything inside them (the others are unwrapped, their text kept).
DROPPED = frozenset({
    "script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math", "form",
    "textarea", "select", "button", "head", "title", "frame", "frameset", "applet", "canvas",
})
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "class", "rel", "title", "translate"},
    "span": {"class", "translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "abbr": {"title"},
}
# No javascript:, data: or vbscript: URLs.
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Mastodon keeps only microformats classes and its own mention markup (MASTODON_STRICT's
# class_whitelist_transformer): anything else would be dropped there anyway.
_KEPT_CLASS = re.compile(r"^(?:(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible)$")
_KEPT_REL = frozenset({"tag", "me", "nofollow", "noopener", "noreferrer", "ugc"})
# A relative URL means nothing on another server (content URLs were made absolute when
# the post was read: bridge/blog/content.py), so only absolute ones are kept.
_ABSOLUTE = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)


def _filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if _KEPT_CLASS.match(c)]
        return " ".join(kept) or None
    if attribute == "rel":
        kept = [r for r in value.lower().split() if r in _KEPT_REL]
        return " ".join(kept) or None
    if attribute == "href":
        return value if _ABSOLUTE.match(value.strip()) else None
    if attribute == "translate":
        return value if value == "no" else None
    return value


def clean_html(html: str) -> str:
    """`html` with only allowed elements, attributes, classes and URL schemes."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    ).strip()


def clean_comment_html(html: str) -> str:
    """Remote HTML as shown on an interaction page (bridge/webmention/hentry.py): the same
    allow-list, but no `class` at all (a remote `class="u-like-of"` or `h-card` inside
    our `e-content` would change what a receiver's microformats parser reads) and every
    link marked `nofollow ugc noopener` (user-generated content, rel-nofollow spec)."""
    attributes = {tag: {a for a in names if a not in ("class", "rel")} for tag, names in ATTRIBUTES.items()}
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED),
        attributes=attributes,
        attribute_filter=_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()
