"""Blog posts as ActivityStreams 2 objects and activities, the way Mastodon reads them.

Pure: a `Post` in, JSON-ready dicts out (the raw AS2 stays in this module and in
bridge/as2/actor.py). Several of Mastodon's rules fail silently, so they are kept here on
purpose and each has a test (tests/test_as2.py, tests/test_public.py):
- a Note's `summary` is shown as a content warning: a Note never has one;
- an `Article` is shown as its `name`, its `summary` (linkified: a plain excerpt
  without links) and a link (ActivityPub::Activity::Create, converted types);
- only four `attachment`s are kept, only of the media types MediaAttachment knows;
- hashtags are found by their `Hashtag` tag's `name` ("#tag"), and links in `content`
  keep only microformats classes and `mention`/`hashtag` (MASTODON_STRICT);
- a reply to a post Mastodon cannot resolve is hidden from home timelines (FeedManager
  filters replies to unknown accounts), so `inReplyTo` is set only for a target known to
  be a fediverse object (see `reply_target`).
"""

from __future__ import annotations

import html
import mimetypes
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bridge.as2.vocab import AS2_CONTEXT, OBJECT_CONTEXT, PUBLIC
from bridge.blog import content as content_html
from bridge.blog.post import Media, Post, same_url
from bridge.core.sanitize import clean_html
from bridge.core.urls import activity_id, actor_collection

MAX_ATTACHMENTS = 4  # Mastodon keeps the first four (Create#process_attachments, take(4))
# Mastodon's MediaAttachment IMAGE/VIDEO/AUDIO_MIME_TYPES: anything else is not shown.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp",
                         "image/avif"})
VIDEO_TYPES = frozenset({"video/webm", "video/mp4", "video/quicktime", "video/ogg"})
AUDIO_TYPES = frozenset({"audio/wave", "audio/wav", "audio/x-wav", "audio/ogg", "audio/vorbis", "audio/mpeg",
                         "audio/mp3", "audio/webm", "audio/flac", "audio/aac", "audio/m4a", "audio/x-m4a",
                         "audio/mp4", "audio/3gpp"})
# post_style "auto": a titled post this short (title and text) fits in one Mastodon post
# (its default limit is 500 characters), so it is a Note and shows in full.
SHORT_NOTE_CHARS = 500
SUMMARY_CHARS = 280  # an Article's excerpt
# WordPress's default category (English installs): a placeholder, not a topic.
_PLACEHOLDER_CATEGORIES = frozenset({"uncategorized"})
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# Post URLs of the fediverse servers most blogs reply to (Mastodon, GoToSocial, Misskey,
# Pleroma/Akkoma, Pixelfed, Lemmy). A guess for a pure translator: the publish flow
# resolves the target over the network and passes its id instead.
_FEDIVERSE_POST = re.compile(
    r"^/(?:@[\w.-]+/(?:statuses/)?[0-9A-Za-z]+|users/[\w.-]+/statuses/[0-9A-Za-z]+|notes/[0-9a-z]+"
    r"|notice/[0-9A-Za-z]+|objects/[0-9a-f-]{36}|p/[\w.-]+/\d+|post/\d+|comment/\d+)/?$"
)


def iso(value: datetime) -> str:
    """An AS2 date-time: UTC, whole seconds, "Z" (what every server parses)."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_version(fingerprint: str) -> str:
    """The version part of an Update's id (urls.activity_id): the fingerprint's prefix."""
    return fingerprint[:12]


def language_key(tag: str | None) -> str | None:
    """A `contentMap` key: the primary language subtag ("en" for "en-US"), since Mastodon
    takes the key as the post's language and knows few regional tags; Chinese keeps its
    region or script, which changes the writing."""
    if not tag or not re.match(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$", tag.strip()):
        return None
    parts = tag.strip().replace("_", "-").split("-")
    primary = parts[0].lower()
    if primary == "zh" and len(parts) > 1:
        return f"zh-{parts[1].upper() if len(parts[1]) == 2 else parts[1].title()}"
    return primary


def object_type(post: Post, style: str) -> str:
    """`Note` or `Article` for the blog's `post_style` (note | article | auto)."""
    if style == "note":
        return "Note"
    if style == "article":
        return "Article"
    if not post.title:
        return "Note"
    text = content_html.text_of(post.content_html) if post.content_html else ""
    return "Note" if len(post.title) + len(text) <= SHORT_NOTE_CHARS else "Article"


def tag_slug(name: str) -> str:
    """The URL slug of a tag, as WordPress makes it (sanitize_title_with_dashes): accents
    removed, lower case, spaces and dots as '-', other letters percent-encoded."""
    text = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).lower()
    out = []
    for char in text:
        if char.isascii() and (char.isalnum() or char in "_-"):
            out.append(char)
        elif char.isspace() or char in "./":
            out.append("-")
        elif not char.isascii() and char.isalnum():
            out.append(quote(char).lower())
    return re.sub(r"-{2,}", "-", "".join(out)).strip("-")


def hashtag_name(name: str) -> str | None:
    """A category or tag as a hashtag Mastodon accepts: "#tag", its words joined in
    CamelCase ("deep learning" → "#DeepLearning": no spaces, readable aloud); None when
    nothing is left or no letter (Mastodon's HASHTAG_NAME_RE needs one)."""
    words = _WORD.findall(name)
    if not words:
        return None
    tag = words[0] if len(words) == 1 else "".join(w[:1].upper() + w[1:] for w in words)
    return f"#{tag}" if any(c.isalpha() or c == "_" for c in tag) else None


def tag_href(name: str, *, kind: str, blog_url: str, template: str | None, wordpress: bool) -> str:
    """The blog's page for a category or tag: the configured template, else WordPress's
    /category/SLUG/ and /tag/SLUG/, else /tag/SLUG/ (WordPress's and Ghost's)."""
    slug = tag_slug(name) or quote(name, safe="")
    if template:
        return template.replace("{tag}", slug)
    base = blog_url if blog_url.endswith("/") else f"{blog_url}/"
    if wordpress and kind == "category":
        return f"{base}category/{slug}/"
    return f"{base}tag/{slug}/"


def hashtags(post: Post, *, blog_url: str, tag_url: str | None = None) -> list[dict[str, str]]:
    """The post's categories and tags as `Hashtag` objects, without repeats."""
    wordpress = "wp-rest" in post.sources.values()
    out: dict[str, dict[str, str]] = {}
    for kind, names in (("category", post.categories), ("tag", post.tags)):
        for name in names:
            if wordpress and kind == "category" and name.casefold() in _PLACEHOLDER_CATEGORIES:
                continue
            tag = hashtag_name(name)
            if tag and tag.casefold() not in out:
                href = tag_href(name, kind=kind, blog_url=blog_url, template=tag_url, wordpress=wordpress)
                out[tag.casefold()] = {"type": "Hashtag", "href": href, "name": tag}
    return list(out.values())


def mention_name(url: str, name: str | None) -> str | None:
    """"@user@host" for a mention link ("@user" gets the link's host; "/@user" paths too)."""
    host = urlsplit(url).hostname or ""
    text = (name or "").strip()
    if not text.startswith("@"):
        path = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        text = path if path.startswith("@") else ""
    if not text or len(text) < 2:
        return None
    return text if text.count("@") >= 2 or not host else f"{text}@{host}"


def media_type(media: Media) -> str | None:
    """The media's declared type, else the one its file name implies."""
    if media.mime_type:
        return media.mime_type.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(urlsplit(media.url).path)
    return guessed


def attachments(post: Post) -> list[dict[str, Any]]:
    """Images (the featured one first), then videos and audio: at most four, each of a
    type Mastodon shows, with its alt text as `name`."""
    out: list[dict[str, Any]] = []
    kinds = [(m, "Image", IMAGE_TYPES) for m in post.images()]
    kinds += [(m, "Video", VIDEO_TYPES) for m in post.videos] + [(m, "Audio", AUDIO_TYPES) for m in post.audio]
    for media, kind, allowed in kinds:
        mime = media_type(media)
        if mime not in allowed or not media.url.startswith(("http://", "https://")):
            continue
        item: dict[str, Any] = {"type": kind, "mediaType": mime, "url": media.url}
        if media.alt:
            item["name"] = media.alt
        out.append(item)
        if len(out) == MAX_ATTACHMENTS:
            break
    return out


def reply_target(post: Post, own: Mapping[str, str] | None = None) -> str | None:
    """What `inReplyTo` may name: one of our own posts (permalink → object id, from
    `own`), else a URL shaped like a fediverse post; None for a reply to a web page."""
    for url in post.in_reply_to:
        for permalink, object_id in (own or {}).items():
            if same_url(permalink, url):
                return object_id
        if url.startswith("https://") and _FEDIVERSE_POST.match(urlsplit(url).path):
            return url
    return None


_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "div", "figcaption", "tr", "br")


def _plain_text(body: str) -> str:
    """The text of HTML, with a space where a block ends (not inside words split by <em>)."""
    soup = content_html.fragment(body)
    for block in soup.find_all(_BLOCKS):
        block.append(" ")
    return soup.get_text()


def excerpt(post: Post, limit: int = SUMMARY_CHARS) -> str | None:
    """An Article's `summary`: the author's summary or the start of the text, as plain text
    without URLs (Mastodon links them), cut at a word, escaped (AS2 `summary` is HTML)."""
    text = post.summary or (_plain_text(post.content_html) if post.content_html else "")
    text = " ".join(_BARE_URL.sub("", text).split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.-–—") + "…"
    return html.escape(text, quote=False) or None


def _mention_markup(body: str, mentions: Mapping[str, str]) -> str:
    """Mention links as Mastodon writes them: `<span class="h-card"><a class="u-url mention">`."""
    if not mentions or not body:
        return body
    soup = content_html.fragment(body)
    for a in soup.find_all("a", href=True):
        href = content_html.attr(a, "href") or ""
        if href not in mentions:
            continue
        a["class"] = "u-url mention"
        parent = a.parent
        if parent is None or "h-card" not in content_html.tokens(parent, "class"):
            a.wrap(soup.new_tag("span", attrs={"class": "h-card", "translate": "no"}))
    return "".join(str(n) for n in (soup.body.contents if soup.body else soup.contents))


def _figures(body: str) -> str:
    """Figure captions as paragraphs: images leave the content (they are attachments,
    and Mastodon drops <img>), their captions stay readable."""
    if "<figcaption" not in body:
        return body
    soup = content_html.fragment(body)
    for caption in soup.find_all("figcaption"):
        caption.name = "p"
        caption.attrs = {}
    return "".join(str(n) for n in (soup.body.contents if soup.body else soup.contents))


def _hashtag_links(tags: list[dict[str, str]]) -> str:
    links = [
        f'<a href="{html.escape(t["href"])}" class="mention hashtag" rel="tag">#<span>{html.escape(t["name"][1:])}</span></a>'
        for t in tags
    ]
    # Last and alone in its paragraph: Mastodon 4.2+ moves such a line into its hashtag bar.
    return f"<p>{' '.join(links)}</p>" if links else ""


def post_to_as2(
    post: Post,
    *,
    object_id: str,
    actor: str,
    style: str = "auto",
    blog_url: str | None = None,
    tag_url: str | None = None,
    followers: str | None = None,
    in_reply_to: str | None = None,
    updated: datetime | None = None,
    language: str | None = None,
    mention_actors: Mapping[str, str] | None = None,
    reply_author: str | None = None,
) -> dict[str, Any]:
    """A blog post as a Note or an Article, served at `object_id` and attributed to `actor`.

    `in_reply_to`: the fediverse object replied to, when known (see reply_target).
    `updated`: when the bridge saw the post change, if later than what the blog says
    (Mastodon ignores an Update whose `updated` is not later than the last one).
    `mention_actors`: profile URL → actor id, for mentions already resolved.
    `reply_author`: the actor id of the author replied to: mentioned (tagged and cc'd) so
    the answer reaches them, as Mastodon mentions the author of a post one replies to.
    `language`: the blog's language, for posts that do not say theirs.
    """
    kind = object_type(post, style)
    blog = blog_url or post.url or object_id
    tags = hashtags(post, blog_url=blog, tag_url=tag_url)
    mentions: dict[str, str] = {}
    mention_tags: list[dict[str, str]] = []
    for mention in post.mentions:
        href = (mention_actors or {}).get(mention.url, mention.url)
        if href in mentions.values():
            continue
        mentions[mention.url] = href
        tag = {"type": "Mention", "href": href}
        if name := mention_name(mention.url, mention.name):
            tag["name"] = name
        mention_tags.append(tag)
    if reply_author and reply_author not in mentions.values():
        mentions[reply_author] = reply_author
        mention_tags.append({"type": "Mention", "href": reply_author})

    body = _figures(_mention_markup(post.content_html or "", mentions))
    parts: list[str] = []
    if kind == "Note" and post.title:
        parts.append(f"<p><strong>{html.escape(post.title)}</strong></p>")
    parts.append(body)
    if kind == "Note" and post.url:
        parts.append(f'<p><a href="{html.escape(post.url)}">{html.escape(post.url)}</a></p>')
    parts.append(_hashtag_links(tags))
    content = clean_html("\n".join(p for p in parts if p))

    followers = followers or actor_collection(actor, "followers")
    obj: dict[str, Any] = {"@context": OBJECT_CONTEXT, "id": object_id, "type": kind, "attributedTo": actor}
    if kind == "Article":
        if post.title:
            obj["name"] = post.title
        if summary := excerpt(post):
            obj["summary"] = summary
    obj["content"] = content
    if key := language_key(post.language or language):
        obj["contentMap"] = {key: content}
        if kind == "Article" and post.title:
            obj["nameMap"] = {key: post.title}
    if post.url:
        obj["url"] = post.url
    obj["to"] = [PUBLIC]
    obj["cc"] = [followers, *dict.fromkeys(mentions.values())]
    if post.published:
        obj["published"] = iso(post.published)
    last = max((d for d in (post.updated, updated) if d is not None), default=None)
    if last is not None and (post.published is None or last > post.published):
        obj["updated"] = iso(last)
    if in_reply_to:
        obj["inReplyTo"] = in_reply_to
    obj["sensitive"] = False
    obj["tag"] = [*tags, *mention_tags]
    obj["attachment"] = attachments(post)
    return obj


def _activity(obj: Mapping[str, Any], verb: str, kind: str, version: str | None = None) -> dict[str, Any]:
    inner = {k: v for k, v in obj.items() if k != "@context"}
    activity: dict[str, Any] = {
        "@context": obj.get("@context", OBJECT_CONTEXT),
        "id": activity_id(obj["id"], verb, version),
        "type": kind,
        "actor": obj["attributedTo"],
    }
    stamp = obj.get("updated") if kind == "Update" else obj.get("published")
    if stamp:
        activity["published"] = stamp
    activity.update(to=obj.get("to", [PUBLIC]), cc=obj.get("cc", []), object=inner)
    return activity


def create_to_as2(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The `Create` of an object made by post_to_as2 (id: OBJECT/create)."""
    return _activity(obj, "create", "Create")


def update_to_as2(obj: Mapping[str, Any], *, version: str) -> dict[str, Any]:
    """The `Update` of an object (id: OBJECT/update/VERSION); the object keeps its id and
    carries a later `updated`."""
    return _activity(obj, "update", "Update", version)


def tombstone_to_as2(object_id: str, *, former_type: str | None = None,
                     deleted: datetime | None = None) -> dict[str, Any]:
    """What a deleted post's id answers (with HTTP 410)."""
    tomb: dict[str, Any] = {"@context": AS2_CONTEXT, "id": object_id, "type": "Tombstone"}
    if former_type:
        tomb["formerType"] = former_type
    if deleted:
        tomb["deleted"] = iso(deleted)
    return tomb


def delete_to_as2(object_id: str, *, actor: str, followers: str | None = None,
                  deleted: datetime | None = None, former_type: str | None = None) -> dict[str, Any]:
    """The `Delete` of a post (id: OBJECT/delete), its object a `Tombstone`."""
    tomb = tombstone_to_as2(object_id, former_type=former_type, deleted=deleted)
    del tomb["@context"]
    activity: dict[str, Any] = {"@context": AS2_CONTEXT, "id": activity_id(object_id, "delete"),
                                "type": "Delete", "actor": actor}
    if deleted:
        activity["published"] = iso(deleted)
    activity.update(to=[PUBLIC], cc=[followers or actor_collection(actor, "followers")], object=tomb)
    return activity
