"""A fediverse reply, like or boost as the bridge understands it: AS2 in, `Interaction` out.

A translator (pure). The raw AS2 stays here: the flow (bridge/inbox/interactions.py)
decides what the interaction is about and stores it, the page (bridge/webmention/hentry.py)
renders it. Visibility follows Mastodon's addressing: `Public` in `to` → public,
in `cc` → unlisted (quiet public), the author's followers collection → followers-only,
else direct. Misskey and Pleroma put a reaction emoji on `EmojiReact`/`Like` in
`content`/`_misskey_reaction`; it is kept as `emoji`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bridge.as2.ids import first_id, id_of
from bridge.blog.post import parse_datetime
from bridge.core.links import host_of, is_http_url

PUBLIC_ADDRESSES = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
# What Mastodon shows as a status (ActivityPub::Activity::Create: Note, Article, Question,
# Page, and media and events): a reply of any of these becomes a comment.
REPLY_TYPES = frozenset({"Note", "Article", "Question", "Page", "Audio", "Video", "Image", "Document", "Event"})
REACTION_KINDS = {"Like": "like", "EmojiReact": "like", "Announce": "repost"}


@dataclass(frozen=True, slots=True)
class Attachment:
    url: str
    media_type: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    kind: str  # "reply", "like" or "repost"
    object_id: str  # the reply's Note id; the Like's / Announce's own id
    actor: str
    in_reply_to: str | None  # what it answers, likes or boosts (an id or a URL)
    visibility: str = "public"  # "public", "unlisted", "followers" or "direct"
    activity_id: str | None = None
    url: str | None = None  # the post's page for people
    content_html: str | None = None  # as received: sanitised when rendered
    summary: str | None = None  # a content warning
    name: str | None = None  # an Article's or Page's title
    published: datetime | None = None
    updated: datetime | None = None
    mentions: tuple[str, ...] = ()  # the `href`s of its Mention tags
    hashtags: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    emoji: str | None = None
    language: str | None = None
    addressed: tuple[str, ...] = ()  # everyone in to/cc

    def extras(self) -> dict[str, Any]:
        """What the database keeps beside its columns (JSON-ready)."""
        return {"mentions": list(self.mentions), "hashtags": list(self.hashtags),
                "attachments": [asdict(a) for a in self.attachments], "emoji": self.emoji,
                "language": self.language, "name": self.name}


def _list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _ids(value: object) -> tuple[str, ...]:
    return tuple(i for i in (id_of(v) for v in _list(value)) if i)


def visibility_of(doc: Mapping[str, Any], actor: str, followers: str | None = None) -> str:
    """Who the author addressed (Mastodon's rules, ActivityPub::Activity#visibility_from_audience)."""
    to, cc = _ids(doc.get("to")), _ids(doc.get("cc"))
    if PUBLIC_ADDRESSES & set(to):
        return "public"
    if PUBLIC_ADDRESSES & set(cc):
        return "unlisted"
    followers = followers or f"{actor}/followers"
    if followers in to or followers in cc:
        return "followers"
    return "direct"


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping):  # a contentMap / nameMap: the first language
        return next((v for v in value.values() if isinstance(v, str) and v.strip()), None)
    return None


def _url(value: object) -> str | None:
    for item in _list(value):
        if isinstance(item, str) and is_http_url(item):
            return item
        if isinstance(item, Mapping):
            href = item.get("href")
            if isinstance(href, str) and is_http_url(href) and item.get("mediaType", "text/html") == "text/html":
                return href
    return None


def _attachments(value: object) -> tuple[Attachment, ...]:
    out = []
    for item in _list(value):
        if not isinstance(item, Mapping):
            continue
        url, media = _media_link(item.get("url"))
        if url is None and is_http_url(item.get("href")):
            url = str(item["href"])
        if url:
            media = item.get("mediaType") if isinstance(item.get("mediaType"), str) else media
            out.append(Attachment(url=url, media_type=media, name=_text(item.get("name"))))
    return tuple(out)


def _media_link(value: object) -> tuple[str | None, str | None]:
    """A media attachment's `url`: a string, or a `Link` (PeerTube, Funkwhale: with its own
    `mediaType`), or a list of them: the first one that is an http(s) URL, and its type."""
    for item in _list(value):
        if isinstance(item, str) and is_http_url(item):
            return item, None
        if isinstance(item, Mapping) and is_http_url(item.get("href")):
            media = item.get("mediaType")
            return str(item["href"]), media if isinstance(media, str) else None
    return None, None


def _tags(value: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    mentions, hashtags = [], []
    for tag in _list(value):
        if not isinstance(tag, Mapping):
            continue
        if tag.get("type") == "Mention" and is_http_url(tag.get("href")):
            mentions.append(str(tag["href"]))
        elif tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            hashtags.append(tag["name"].lstrip("#"))
    return tuple(mentions), tuple(hashtags)


def reply_from_as2(obj: Mapping[str, Any], actor: str, activity: Mapping[str, Any] | None = None) -> Interaction:
    """A Note (Article, Question, Page) as a reply. Raises ValueError when it is none."""
    # isinstance first: a list or an object as `type` is unhashable (a TypeError, not "not a post").
    if not isinstance(obj.get("type"), str) or obj["type"] not in REPLY_TYPES or not is_http_url(obj.get("id")):
        raise ValueError(f"not a post: {obj.get('type')!r}")
    mentions, hashtags = _tags(obj.get("tag"))
    language = None
    if isinstance(obj.get("contentMap"), Mapping) and obj["contentMap"]:
        language = next(iter(obj["contentMap"]))
    # The link people follow: the post's page, if it is on the author's own server (a `url`
    # elsewhere could send readers anywhere), else the object itself.
    page = _url(obj.get("url"))
    return Interaction(
        kind="reply", object_id=str(obj["id"]), actor=actor, in_reply_to=first_id(obj.get("inReplyTo")),
        visibility=visibility_of(obj, actor), activity_id=id_of(activity) if activity else None,
        url=page if page and host_of(page) == host_of(actor) else str(obj["id"]),
        content_html=_text(obj.get("content")) or _text(obj.get("contentMap")),
        summary=_text(obj.get("summary")) or _text(obj.get("summaryMap")),
        name=_text(obj.get("name")) or _text(obj.get("nameMap")) if obj["type"] != "Note" else None,
        published=parse_datetime(obj.get("published")), updated=parse_datetime(obj.get("updated")),
        mentions=mentions, hashtags=hashtags, attachments=_attachments(obj.get("attachment")),
        language=language, addressed=_ids(obj.get("to")) + _ids(obj.get("cc")),
    )


def reaction_from_as2(activity: Mapping[str, Any], actor: str) -> Interaction:
    """A Like, EmojiReact or Announce. Raises ValueError for anything else."""
    kind = REACTION_KINDS.get(str(activity.get("type")))
    target = id_of(activity.get("object"))
    if kind is None or target is None or not is_http_url(activity.get("id")):
        raise ValueError(f"not a like or boost: {activity.get('type')!r}")
    emoji = _text(activity.get("content")) or _text(activity.get("_misskey_reaction"))
    # A Like carries no addressing on Mastodon: likes are public there.
    addressed = "to" in activity or "cc" in activity
    return Interaction(
        kind=kind, object_id=str(activity["id"]), actor=actor, in_reply_to=target,
        visibility=visibility_of(activity, actor) if kind == "repost" and addressed else "public",
        activity_id=str(activity["id"]), published=parse_datetime(activity.get("published")),
        emoji=emoji if activity.get("type") == "EmojiReact" or emoji else None,
    )


def interaction_from_row_values(kind: str, object_id: str, actor: str, in_reply_to: str | None,
                                extras: Mapping[str, Any], **values: Any) -> Interaction:
    """An Interaction rebuilt from what the database keeps (columns + `extras()`)."""
    atts = tuple(Attachment(**a) for a in extras.get("attachments", []) if isinstance(a, Mapping))
    return Interaction(kind=kind, object_id=object_id, actor=actor, in_reply_to=in_reply_to,
                       mentions=tuple(extras.get("mentions", ())), hashtags=tuple(extras.get("hashtags", ())),
                       attachments=atts, emoji=extras.get("emoji"), language=extras.get("language"),
                       name=extras.get("name"), **values)
