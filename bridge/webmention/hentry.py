"""The h-entry page of one interaction: the webmention source the blog fetches and parses.

A translator (pure): an `Interaction`, its author and its targets in, HTML out.
Receivers are strict, so the markup is exact (microformats2 parsing rules):
- `p-author h-card` is an element of its own holding `p-name`, `u-photo` and an explicit
  `u-url` of the profile (an `<a class="p-author h-card" href>` around an `<img>` would
  have its URL implied away: the implied-url rule does not run when `u-photo` is explicit);
- the first link on the page to each target is the `u-in-reply-to` / `u-like-of` /
  `u-repost-of` / `u-mention-of` (a quote) link itself, placed before the content (receivers such as django-wm
  take the post type from the first link to the target);
- `e-content` holds the remote HTML through the allow-list sanitiser with every class
  removed, so remote markup cannot add microformats properties;
- `u-url` is the page itself, so a receiver that keeps it (WordPress keeps it as the
  comment's `url`) sends its answers to us; the fediverse post is a plain visible link
  ("original"); `dt-published` is its date.
A withdrawn interaction's page is a tombstone for receivers that ignore a 410
(`render_tombstone`): the same links to the targets, no author, no words.
The page advertises the bridge's webmention endpoint (`<link rel="webmention">`). It has
no style sheet and no script at all: whatever is `<style>` or `<script>` on it came from
outside, which the sanitiser tests rule out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from bridge.as2.interaction import Interaction
from bridge.core.links import is_http_url
from bridge.core.sanitize import clean_comment_html

# A quote links the post as a mention (`u-mention-of`: no reply, like or repost property, so
# receivers keep it as a mention) and carries its words like a reply.
_PROPERTY = {"reply": "u-in-reply-to", "like": "u-like-of", "repost": "u-repost-of", "quote": "u-mention-of"}
_VERB = {"reply": "replied to", "like": "liked", "repost": "reposted", "quote": "quoted"}
_WORDED = ("reply", "quote")  # the kinds whose page carries the post's words


def link_property(kind: str, emoji: str | None) -> str:
    """How the page links the post. An emoji reaction is a reply whose whole content is the
    one emoji (the IndieWeb "reacji": receivers that know it show a reaction, the others a
    one-emoji comment), not a like that loses its emoji."""
    return _PROPERTY["reply"] if kind == "like" and emoji else _PROPERTY[kind]


@dataclass(frozen=True, slots=True)
class Author:
    url: str  # the profile page (or the actor id)
    name: str | None = None
    photo: str | None = None
    handle: str | None = None  # name@host


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _date(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _author(author: Author) -> str:
    name = author.name or author.handle or author.url
    photo = f'<img class="u-photo" src="{_attr(author.photo)}" alt="" width="48" height="48"> ' \
        if author.photo and is_http_url(author.photo) else ""
    handle = f' <span class="p-nickname">@{escape(author.handle)}</span>' if author.handle else ""
    return (f'<div class="p-author h-card">{photo}'
            f'<a class="p-name u-url" href="{_attr(author.url)}" rel="nofollow ugc">{escape(name)}</a>{handle}</div>')


def _attachments(interaction: Interaction) -> str:
    items = []
    for att in interaction.attachments:
        if not is_http_url(att.url):
            continue
        alt = _attr(att.name or "")
        if (att.media_type or "").startswith("image/"):
            items.append(f'<img class="u-photo" src="{_attr(att.url)}" alt="{alt}">')
        else:
            items.append(f'<a href="{_attr(att.url)}" rel="nofollow ugc">{escape(att.name or att.url)}</a>')
    return f'<div class="attachments">{"".join(items)}</div>' if items else ""


def render_interaction(interaction: Interaction, author: Author, *, page_url: str, targets: Sequence[str],
                       endpoint: str, title: str | None = None) -> str:
    """The page. `targets[0]` is the blog post; more (a reply's parent interaction pages) follow."""
    prop = link_property(interaction.kind, interaction.emoji)
    name = author.name or author.handle or author.url
    verb = f"reacted {interaction.emoji} to" if interaction.kind == "like" and interaction.emoji else _VERB[interaction.kind]
    parts = [f'<p class="context">{escape(name)} {verb} {_links(prop, targets, title)}</p>', _author(author)]
    if interaction.name and interaction.kind in _WORDED:  # an Article's or Page's title
        parts.append(f'<p class="p-name">{escape(interaction.name)}</p>')
    if interaction.summary:
        parts.append(f'<p class="p-summary">{escape(interaction.summary)}</p>')
    if interaction.kind in _WORDED:
        parts.append(f'<div class="e-content">{clean_comment_html(interaction.content_html or "")}</div>')
        parts.append(_attachments(interaction))
    elif interaction.emoji:  # a reacji: the content is the emoji, nothing else
        parts.append(f'<div class="e-content">{escape(interaction.emoji)}</div>')
    meta = [f'<a class="u-url" href="{_attr(page_url)}">permalink</a>']
    original = interaction.url if interaction.kind in _WORDED and is_http_url(interaction.url) else None
    if original:
        meta.append(f'<a href="{_attr(original)}" rel="nofollow ugc">original</a>')
    when = interaction.published
    if when is not None:
        meta.append(f'<time class="dt-published" datetime="{_date(when)}">{escape(when.strftime("%Y-%m-%d %H:%M UTC"))}</time>')
    if interaction.updated is not None:
        meta.append(f'<time class="dt-updated" datetime="{_date(interaction.updated)}">edited</time>')
    parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
    lang = f' lang="{_attr(interaction.language)}"' if interaction.language else ""
    return _page(f"{name} {verb} {title or targets[0]}", endpoint,
                 f'<article class="h-entry"{lang}>\n{"".join(p + chr(10) for p in parts if p)}</article>')


def _links(prop: str, targets: Sequence[str], title: str | None) -> str:
    return " ".join(f'<a class="{prop}" href="{_attr(t)}">{escape(title if i == 0 and title else t)}</a>'
                    for i, t in enumerate(targets))


_WITHDRAWN = {
    "deleted": "This comment was deleted by its author.",
    "removed": "This comment was removed.",
    "private": "This comment is no longer public.",
}


def render_tombstone(kind: str, *, page_url: str, targets: Sequence[str], endpoint: str, why: str,
                     photo: str, emoji: str | None = None) -> str:
    """A withdrawn interaction's page, served with 200 to receivers that ignore a 410
    (the WordPress plugin): they take it as an edit of the comment, which then loses its
    author's name, profile link and words, and its picture for `photo` (a neutral one: a
    receiver keeps the old picture when the edit has none). It still links to every
    target, or the receiver would refuse the edit. `why` is "deleted", "removed" or "private"."""
    prop = link_property(kind, emoji)  # as the page it replaces linked the post
    words = _WITHDRAWN[why]
    body = (f'<article class="h-entry">\n<p class="context">{_links(prop, targets, None)}</p>\n'
            f'<div class="p-author h-card"><img class="u-photo" src="{_attr(photo)}" alt="" width="48" height="48"> '
            '<span class="p-name">(withdrawn)</span></div>\n'
            f'<div class="e-content"><p>{escape(words)}</p></div>\n'
            f'<p class="meta"><a class="u-url" href="{_attr(page_url)}">permalink</a></p>\n</article>')
    return _page("Withdrawn", endpoint, body)


def render_gone(endpoint: str) -> str:
    """What the page says once its interaction was deleted (served with 410 Gone)."""
    return _page("Deleted", endpoint, "<p>This comment was deleted by its author or removed.</p>")


def _page(title: str, endpoint: str, body: str) -> str:
    return ("<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width\">\n"
            f"<title>{escape(title)}</title>\n<link rel=\"webmention\" href=\"{_attr(endpoint)}\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"</head>\n<body>\n{body}\n</body>\n</html>\n")
