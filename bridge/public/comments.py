"""A post's fediverse comments as the embeddable widget reads them (GET /api/comments).

A translator (pure): the post and the interactions the blog shows in, a JSON-ready dict out.
The edge (bridge/public/widget.py) picks the rows (published, public or unlisted: never held,
followers-only, direct, rejected or deleted); this module shapes them:
- replies as a tree by `parent_id`, oldest first at every level; a reply whose parent is not
  shown (held, private, withdrawn) starts a thread of its own, and a thread deeper than
  `MAX_DEPTH` goes on flat under its deepest shown level (a nested list a hundred levels deep
  helps no reader, and no JSON encoder should recurse that far);
- likes, boosts and reactions (a like with an emoji) as rows of faces, at most `MAX_FACES`
  each (the counts are the whole numbers);
- quotes as their own list: who, and a link.
`content` is the remote HTML through the same sanitiser as the h-entry page
(`clean_comment_html`); everything else is text for the script to set as text, and every URL
in the document is http(s) or null, so a `javascript:` profile link never reaches a page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.blog.post import normalize_url
from bridge.core.sanitize import clean_comment_html

MAX_DEPTH = 16  # nesting levels of replies; deeper ones are listed under the 16th
MAX_FACES = 100  # avatars listed per row (likes, boosts, reactions); `counts` says how many in all
MAX_EMOJI = 64  # characters of a reaction kept (a custom emoji's `:shortcode:` fits)
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")  # BCP 47, loosely: a `lang` attribute


@dataclass(frozen=True, slots=True)
class PostRef:
    """The blog post the comments are about, and where a reader acts on it."""

    title: str | None
    url: str  # its permalink
    object_id: str  # its AS2 id: what a reader's server replies to
    actor: str  # the blog's actor id: what a reader's server follows
    handle: str  # name@host
    interact: str  # the remote-interaction page (urls.interact)


@dataclass(frozen=True, slots=True)
class Shown:
    """One interaction the blog shows, as the edge read it from its row."""

    row_id: int
    kind: str  # "reply", "like", "repost" or "quote"
    object_id: str
    actor: str
    published: datetime | None
    author_name: str | None = None
    author_photo: str | None = None
    author_url: str | None = None
    author_handle: str | None = None
    content: str | None = None  # remote HTML, unsanitised
    summary: str | None = None  # a content warning
    url: str | None = None  # the post's page on its server
    edited: datetime | None = None
    parent_id: int | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)  # the row's `data`: emoji, attachments, language


def http_url(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL, else None (and never an exception: `http://[`)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
        return value if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:
        return None


def _date(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _author(item: Shown) -> dict[str, Any]:
    url = http_url(item.author_url) or http_url(item.actor)
    return {"name": item.author_name or item.author_handle or url or item.actor,
            "handle": item.author_handle, "avatar": http_url(item.author_photo), "url": url}


def _emoji(item: Shown) -> str | None:
    value = item.extras.get("emoji")
    return (value.strip()[:MAX_EMOJI] or None) if isinstance(value, str) else None


def _original(item: Shown) -> str | None:
    """The post on its server, for people: its `url`, else its id (ids of Mastodon and most others open in a browser)."""
    return http_url(item.url) or http_url(item.object_id)


def _attachments(item: Shown) -> list[dict[str, Any]]:
    found = item.extras.get("attachments")
    out = []
    for att in found if isinstance(found, list) else []:
        url = http_url(att.get("url")) if isinstance(att, Mapping) else None
        if url is not None:
            media, name = att.get("media_type"), att.get("name")
            out.append({"url": url, "type": media if isinstance(media, str) else None,
                        "name": name if isinstance(name, str) else None})
    return out


def _reply(item: Shown) -> dict[str, Any]:
    language = item.extras.get("language")
    return {
        "id": item.object_id,
        "author": _author(item),
        "content": clean_comment_html(item.content or ""),
        "summary": item.summary or None,
        "language": language if isinstance(language, str) and _LANGUAGE.fullmatch(language) else None,
        "published": _date(item.published),
        "edited": _date(item.edited),
        "url": _original(item),
        "attachments": _attachments(item),
        "children": [],
    }


def _key(item: Shown) -> tuple[bool, datetime, int]:
    """Oldest first, the undated before (they compare only among themselves: no naive-aware mix)."""
    return item.published is not None, item.published or datetime.min, item.row_id


def thread(replies: Sequence[Shown]) -> list[dict[str, Any]]:
    """The replies as a tree (each node's `children`), oldest first at every level."""
    ordered = sorted(replies, key=_key)
    by_id = {r.row_id: r for r in ordered}
    nodes = {r.row_id: _reply(r) for r in ordered}
    roots: list[dict[str, Any]] = []
    for reply in ordered:
        chain: list[int] = []  # its shown ancestors, nearest first
        seen = {reply.row_id}
        up = reply.parent_id
        while up is not None and up in by_id and up not in seen:
            chain.append(up)
            seen.add(up)
            up = by_id[up].parent_id
        if up is not None and up in seen:  # a loop of parents (never written, but never trusted):
            # its members start threads of their own, so the chain ends at the first one reached.
            chain = [] if up == reply.row_id else chain[:chain.index(up) + 1]
        if not chain:
            roots.append(nodes[reply.row_id])
            continue
        under = chain[0] if len(chain) <= MAX_DEPTH else chain[len(chain) - MAX_DEPTH]
        nodes[under]["children"].append(nodes[reply.row_id])
    return roots


def _face(item: Shown, *, emoji: bool = False) -> dict[str, Any]:
    face: dict[str, Any] = {"author": _author(item), "published": _date(item.published)}
    if emoji:
        face["emoji"] = _emoji(item)
    return face


def comments_document(post: PostRef, items: Sequence[Shown]) -> dict[str, Any]:
    """The JSON of GET /api/comments: the post, its replies threaded, likes, boosts, reactions, quotes."""
    ordered = sorted(items, key=_key)
    replies = [i for i in ordered if i.kind == "reply"]
    likes = [i for i in ordered if i.kind == "like" and not _emoji(i)]
    reactions = [i for i in ordered if i.kind == "like" and _emoji(i)]
    boosts = [i for i in ordered if i.kind == "repost"]
    quotes = [i for i in ordered if i.kind == "quote"]
    return {
        "post": {"title": post.title, "url": post.url, "id": post.object_id, "actor": post.actor,
                 "handle": post.handle, "interact": post.interact},
        "counts": {"replies": len(replies), "likes": len(likes), "boosts": len(boosts),
                   "reactions": len(reactions), "quotes": len(quotes)},
        "replies": thread(replies),
        "likes": [_face(i) for i in likes[:MAX_FACES]],
        "boosts": [_face(i) for i in boosts[:MAX_FACES]],
        "reactions": [_face(i, emoji=True) for i in reactions[:MAX_FACES]],
        "quotes": [{"author": _author(i), "url": _original(i), "published": _date(i.published)} for i in quotes],
    }


def permalink_variants(url: str) -> list[str]:
    """The forms a stored permalink may have for the `url` a blog's template writes: as given,
    without its fragment, normalised (bridge/blog/post.py `normalize_url`: scheme and host
    lower-cased, no default port), each with and without its trailing slash. An exact lookup
    of these uses the (blog, url) index; a post's row is never scanned for."""
    raw = url.strip()
    forms = {raw, raw.split("#", 1)[0]}
    try:
        forms.add(normalize_url(raw))
    except ValueError:  # `http://[`: no URL to normalise
        pass
    return sorted({v for f in forms if f for v in (f, f.rstrip("/"), f.rstrip("/") + "/")})


def etag_of(body: bytes) -> str:
    """A strong ETag: the body's hash (the same comments, the same bytes, the same tag)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (RFC 9110 section 13.1.2: a weak comparison, `*` matches)."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
