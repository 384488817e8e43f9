"""`bridge inspect URL`: a post and its profile as the bridge reads them, field by field.

Two renderings of the same data: one JSON object (`--json`) for scripts and bug reports,
and aligned text for people. Each field shows its value and the source it came from
(see bridge/blog/merge.py for the order of sources). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.blog.post import Media, Post, Profile, post_type

POST_FIELDS = (
    "title", "url", "uid", "published", "updated", "author.name", "author.url", "author.photo",
    "summary", "categories", "tags", "featured", "photos", "videos", "audio", "in_reply_to",
    "like_of", "repost_of", "bookmark_of", "mentions", "language", "content_html",
)
PROFILE_FIELDS = ("name", "url", "summary", "icon", "header", "links", "site_name", "feed_url",
                  "language")


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _media(media: Media | None) -> dict[str, Any] | None:
    if media is None:
        return None
    out: dict[str, Any] = {"url": media.url, "alt": media.alt}
    if media.mime_type:
        out["type"] = media.mime_type
    return out


def inspect_json(post: Post, profile: Profile) -> dict[str, Any]:
    """One JSON-ready object: the post's fields, `sources`, its type, and the profile.

    Dates are ISO 8601 with their offset; absent values are null or [].
    """
    author = post.author
    return {
        "type": post_type(post),
        "title": post.title,
        "content_html": post.content_html,
        "summary": post.summary,
        "published": _date(post.published),
        "updated": _date(post.updated),
        "url": post.url,
        "uid": post.uid,
        "author": {"name": author.name if author else None,
                   "url": author.url if author else None,
                   "photo": author.photo if author else None},
        "categories": list(post.categories),
        "tags": list(post.tags),
        "featured": _media(post.featured),
        "photos": [_media(m) for m in post.photos],
        "videos": [_media(m) for m in post.videos],
        "audio": [_media(m) for m in post.audio],
        "in_reply_to": list(post.in_reply_to),
        "like_of": list(post.like_of),
        "repost_of": list(post.repost_of),
        "bookmark_of": list(post.bookmark_of),
        "mentions": [{"url": m.url, "name": m.name} for m in post.mentions],
        "language": post.language,
        "sources": dict(post.sources),
        "profile": {
            "url": profile.url,
            "name": profile.name,
            "summary": profile.summary,
            "icon": profile.icon.url if profile.icon else None,
            "header": profile.header.url if profile.header else None,
            "links": list(profile.links),
            "site_name": profile.site_name,
            "feed_url": profile.feed_url,
            "language": profile.language,
            "sources": dict(profile.sources),
        },
    }


def _lookup(data: Mapping[str, Any], name: str) -> Any:
    value: Any = data
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _lines(value: Any) -> list[str]:
    """A value as text lines: lists one item a line, media as "url (alt)"."""
    if value is None or value == [] or value == "":
        return ["—"]
    if isinstance(value, list):
        return [line for item in value for line in _lines(item)]
    if isinstance(value, Mapping):
        if "url" in value and ("alt" in value or "name" in value or "type" in value):
            note = value.get("alt") or value.get("name") or value.get("type")
            return [f"{value['url']}" + (f"  ({note})" if note else "")]
        return [f"{k}: {v}" for k, v in value.items()]
    return str(value).splitlines() or ["—"]


def _block(data: Mapping[str, Any], names: tuple[str, ...], sources: Mapping[str, str],
           indent: str = "") -> list[str]:
    width = max(len(n) for n in names) + 2
    out = []
    for name in names:
        source = sources.get(name, "")
        label = f"[{source}]" if source else ""
        lines = _lines(_lookup(data, name))
        if name == "content_html" and lines != ["—"]:
            out.append(f"{indent}{name:<{width}}{label}")
            out.extend(f"{indent}    {line}" for line in lines)
            continue
        out.append(f"{indent}{name:<{width}}{lines[0]}" + (f"    {label}" if label else ""))
        out.extend(f"{indent}{'':<{width}}{line}" for line in lines[1:])
    return out


def inspect_text(post: Post, profile: Profile) -> str:
    """The post and profile for people: every field, its value, its [source]."""
    data = inspect_json(post, profile)
    lines = [f"post ({data['type']})"]
    lines += _block(data, POST_FIELDS, data["sources"], "  ")
    lines += ["", "profile"]
    lines += _block(data["profile"], PROFILE_FIELDS, data["profile"]["sources"], "  ")
    return "\n".join(lines) + "\n"
