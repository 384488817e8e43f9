"""WordPress's REST API JSON and oEmbed JSON → partial posts and profiles.

Every WordPress page links the REST API JSON of what it shows
(`<link rel="alternate" type="application/json" href="…/wp-json/wp/v2/posts/5">`, and the
same in an HTTP `Link` header: wp-includes/rest-api.php, rest_output_link_wp_head), and an
oEmbed document (`type="application/json+oembed"`). Whatever the theme prints, these carry
what WordPress stores: the real title (empty for a status), both dates with their UTC
offset, the modified date, categories and tags by ID (names come from the terms
endpoints), the featured image with its alt text, and the author's name and avatar.

Pure: JSON values in, dataclasses out. Fetching is bridge/publish/reader.py's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bridge.blog import content as content_html
from bridge.blog.microformats import content_properties
from bridge.blog.post import Author, Link, Media, Post, Profile
from bridge.core.textguard import ascii_digits

JSON_TYPE = "application/json"
OEMBED_TYPE = "application/json+oembed"


@dataclass(frozen=True)
class RestLinks:
    """Where the rest of a post's data lives, from the post JSON's `_links`."""

    author: str | None = None
    featured_media: str | None = None
    categories: str | None = None
    tags: str | None = None


def _alternate(links: Iterable[Link], mime: str) -> str | None:
    for link in links:
        if "alternate" in link.rels and (link.type or "").split(";")[0].strip().lower() == mime:
            return link.url
    return None


def rest_link(links: Iterable[Link]) -> str | None:
    """The page's REST API JSON URL (rel=alternate, type=application/json)."""
    return _alternate(links, JSON_TYPE)


def oembed_link(links: Iterable[Link]) -> str | None:
    """The page's oEmbed JSON URL (rel=alternate, type=application/json+oembed)."""
    return _alternate(links, OEMBED_TYPE)


def is_rest_post(data: object) -> bool:
    """Whether a JSON value looks like a WP REST post (not an error or something else)."""
    return (isinstance(data, Mapping) and isinstance(data.get("id"), int)
            and isinstance(data.get("link"), str) and isinstance(data.get("content"), Mapping))


# What the REST API answers an anonymous reader for a post that is no longer public
# (wp-includes/rest-api/endpoints/class-wp-rest-posts-controller.php): no such post (deleted
# for good) → 404 rest_post_invalid_id; a post it may not read (trashed, private, a draft)
# → rest_forbidden, 401 (403 to a logged-in reader). Other refusals (rest_cannot_access,
# rest_login_required, rest_not_logged_in…) come from plugins that close the REST API to
# everyone: they say nothing about the post.
_GONE_CODES: Mapping[str, frozenset[int]] = {
    "rest_post_invalid_id": frozenset({404, 410}),
    "rest_forbidden": frozenset({401, 403}),
}
_STATUS = re.compile(r"[a-z0-9_-]{1,32}")  # post statuses are slugs: trash, draft, private, future


def rest_gone(status: int, data: object) -> str | None:
    """Why a post's REST API answer (`status`, its decoded JSON `data`, None if not JSON)
    says the post is no longer public, else None.

    A page cache may still serve a trashed post's permalink with 200; its REST URL is not
    cached and says "rest_forbidden" (401/403), "rest_post_invalid_id" (404/410), or, to a
    reader allowed to see it, the post with a `status` other than "publish" ("status trash").
    """
    if 200 <= status < 300:
        state = data.get("status") if isinstance(data, Mapping) and is_rest_post(data) else None
        if not isinstance(state, str) or state == "publish":
            return None
        return f"status {state if _STATUS.fullmatch(state) else '?'}"  # a slug, or it is not logged
    code = data.get("code") if isinstance(data, Mapping) else None
    if isinstance(code, str) and status in _GONE_CODES.get(code, frozenset()):
        return code
    return None


def _rendered(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return value if isinstance(value, str) else None


def _text(html: str | None) -> str | None:
    return content_html.text_of(html) if html else None


def _href(links: Mapping[str, Any], rel: str, taxonomy: str | None = None) -> str | None:
    for link in links.get(rel, ()) or ():
        if isinstance(link, Mapping) and isinstance(link.get("href"), str):
            if taxonomy is None or link.get("taxonomy") == taxonomy:
                return link["href"]
    return None


def rest_links(data: Mapping[str, Any]) -> RestLinks:
    """Follow-up URLs of a post: its author, featured image, categories and tags."""
    links = data.get("_links") or {}
    return RestLinks(
        author=_href(links, "author"),
        featured_media=_href(links, "wp:featuredmedia") if data.get("featured_media") else None,
        categories=_href(links, "wp:term", "category") if data.get("categories") else None,
        tags=_href(links, "wp:term", "post_tag") if data.get("tags") else None,
    )


def wp_datetime(local: Any, gmt: Any) -> datetime | None:
    """A post date with its real offset: WordPress gives the site's local time and UTC.

    The offset is their difference (the site's timezone at that date), so
    "2019-06-12T08:15:00" with GMT "2019-06-12T12:15:00" is 08:15-04:00.
    """
    if not isinstance(gmt, str) or not gmt:
        return None
    try:
        utc = datetime.fromisoformat(gmt).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    try:
        offset = datetime.fromisoformat(local) - datetime.fromisoformat(gmt)
    except (TypeError, ValueError):
        return utc
    return utc.astimezone(timezone(offset))


def term_names(terms: object, ids: Sequence[int]) -> tuple[str, ...]:
    """Names of the terms with these IDs, in the post's order (a terms list may hold more)."""
    names: dict[int, str] = {}
    for term in terms if isinstance(terms, list) else ():
        if isinstance(term, Mapping) and isinstance(term.get("id"), int) and isinstance(
                term.get("name"), str):
            names[term["id"]] = term["name"]
    return tuple(content_html.text_of(names[i]) for i in ids if i in names)


def _largest_avatar(user: Mapping[str, Any]) -> str | None:
    avatars = user.get("avatar_urls")
    if not isinstance(avatars, Mapping):
        return None
    sizes = [(int(k), v) for k, v in avatars.items() if ascii_digits(str(k)) and isinstance(v, str)]
    return max(sizes)[1] if sizes else None


def author_from_user(user: Mapping[str, Any]) -> Author | None:
    """A WP REST user: display name, website (else their archive page), largest avatar."""
    if not isinstance(user, Mapping) or "name" not in user:
        return None
    url = user.get("url") or user.get("link") or None
    return Author(name=user.get("name") or None, url=url, photo=_largest_avatar(user))


def media_from_rest(media: Mapping[str, Any]) -> Media | None:
    """A WP REST media item: the original file, its alt text and type."""
    if not isinstance(media, Mapping) or not isinstance(media.get("source_url"), str):
        return None
    return Media(url=media["source_url"], alt=(media.get("alt_text") or "").strip() or None,
                 mime_type=media.get("mime_type") or None)


def _embedded(data: Mapping[str, Any], key: str) -> Any:
    """A resource embedded with ?_embed, if the response has it."""
    value = (data.get("_embedded") or {}).get(key)
    return value if value else None


def post_from_rest(data: Mapping[str, Any], *, user: Mapping[str, Any] | None = None,
                   media: Mapping[str, Any] | None = None, categories: object = None,
                   tags: object = None) -> Post:
    """A WP REST post (and its author, featured media and terms JSON) → a partial post.

    What WordPress knows to be empty is said so (`Post.empty`): an empty title (a status
    or aside), no tags, no featured image.
    """
    link = data.get("link")
    base: str = link if isinstance(link, str) else ""
    empty: set[str] = set()
    title_html = _rendered(data.get("title"))
    title = _text(title_html) if title_html is not None else None
    if title_html is not None and not title:
        empty.add("title")

    html = None
    content = data.get("content")
    if isinstance(content, Mapping) and not content.get("protected"):
        html = _rendered(content)
    cleaned = content_html.clean_content(html, base) if html else None

    embedded_terms = _embedded(data, "wp:term") or []
    flat_terms = [t for group in embedded_terms if isinstance(group, list) for t in group]
    cat_ids = [i for i in data.get("categories") or [] if isinstance(i, int)]
    tag_ids = [i for i in data.get("tags") or [] if isinstance(i, int)]
    cat_names = term_names(categories if categories is not None else flat_terms, cat_ids)
    tag_names = term_names(tags if tags is not None else flat_terms, tag_ids)
    if data.get("categories") == []:
        empty.add("categories")
    if data.get("tags") == []:
        empty.add("tags")

    if user is None:
        user = (_embedded(data, "author") or [None])[0]
    if media is None and data.get("featured_media"):
        media = (_embedded(data, "wp:featuredmedia") or [None])[0]
    featured = media_from_rest(media) if media else None
    if data.get("featured_media") == 0:
        empty.add("featured")

    responses = content_properties(cleaned, base) if cleaned else {}
    return Post(
        url=base or None,
        title=title,
        content_html=cleaned,
        summary=_text(_rendered(data.get("excerpt"))),
        published=wp_datetime(data.get("date"), data.get("date_gmt")),
        updated=wp_datetime(data.get("modified"), data.get("modified_gmt")),
        author=author_from_user(user) if user else None,
        categories=cat_names,
        tags=tag_names,
        photos=content_html.images_in(cleaned, base) if cleaned else (),
        featured=featured,
        videos=content_html.media_in(cleaned, base, "video") if cleaned else (),
        audio=content_html.media_in(cleaned, base, "audio") if cleaned else (),
        mentions=content_html.mentions_in(cleaned, base) if cleaned else (),
        sources={"_": "wp-rest"},
        empty=frozenset(empty),
        in_reply_to=responses.get("in_reply_to", ()),
        like_of=responses.get("like_of", ()),
        repost_of=responses.get("repost_of", ()),
        bookmark_of=responses.get("bookmark_of", ()),
    )


def profile_from_user(user: Mapping[str, Any]) -> Profile | None:
    """A WP REST user as a profile: name, bio (description), avatar."""
    author = author_from_user(user)
    if author is None:
        return None
    bio = user.get("description")
    return Profile(url=author.url, name=author.name,
                   summary=" ".join(bio.split()) if isinstance(bio, str) and bio.strip() else None,
                   icon=Media(url=author.photo) if author.photo else None,
                   sources={"_": "wp-rest"})


def post_from_oembed(data: Mapping[str, Any]) -> Post | None:
    """oEmbed JSON (https://oembed.com/, section 2.3.4): title, author, thumbnail."""
    if not isinstance(data, Mapping):
        return None
    name = data.get("author_name") if isinstance(data.get("author_name"), str) else None
    url = data.get("author_url") if isinstance(data.get("author_url"), str) else None
    thumb = data.get("thumbnail_url")
    return Post(
        title=data.get("title") or None if isinstance(data.get("title"), str) else None,
        author=Author(name=name or None, url=url or None) if (name or url) else None,
        featured=Media(url=thumb) if isinstance(thumb, str) and thumb else None,
        sources={"_": "oembed"},
    )


def profile_from_oembed(data: Mapping[str, Any]) -> Profile | None:
    """oEmbed's author and provider: the profile's name and the site's name."""
    if not isinstance(data, Mapping):
        return None
    provider = data.get("provider_name") if isinstance(data.get("provider_name"), str) else None
    return Profile(name=data.get("author_name") or None, site_name=provider or None,
                   sources={"_": "oembed"})
