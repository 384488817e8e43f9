"""What a post's `replies` collection lists (bridge/as2/replies.py), read from the database. An edge.

Two kinds of item, merged oldest first:
- the fediverse's replies the blog shows: interactions of kind reply, published, public or
  unlisted, kept for this post (`post_id`), also those deeper in the thread (`parent_id`
  set; Mastodon threads each under its own `inReplyTo` when it fetches it). Never one held,
  private (followers-only, direct), rejected or deleted;
- the blog's own answers: live posts of our blogs whose object's `inReplyTo` is this post
  or one of those replies. An answer names what it answers in its `in-reply-to` (kept in
  the post's `data`): the post's permalink, our page of a comment (`urls.interaction_page`),
  or the fediverse post itself (its id, its page, or a URL resolved to it when published:
  `remote_objects`). Which `inReplyTo` that makes is decided by `target_of`, the same
  reading the answer's own object uses (bridge/publish/documents.py), so the two never
  disagree; the database is only asked, in one query, for the posts that reply to anything
  at all (their `in_reply_to` read out of the JSON, not the whole post), dated from a day
  before this post on (an answer comes after what it answers).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.expressions import Q, RawSQL

from bridge.blog.post import normalize_url
from bridge.core.urls import actor_id, interaction_page, post_object_id
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionKind,
    InteractionState,
    PostState,
    RemoteObject,
    Visibility,
)

SHOWN = (Visibility.PUBLIC, Visibility.UNLISTED)
# How far before the post an answer may be dated and still be looked at (blogs' clocks and time zones).
DATE_SLACK = timedelta(days=1)

# What `inReplyTo` a stored post's object has (bridge/publish/documents.py `in_reply_to_of`).
TargetOf = Callable[[BlogPost], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Reply:
    object_id: str  # its AS2 id
    at: datetime  # when it was written: the order of the collection
    answer: BlogPost | None  # one of the blog's answers (embedded whole in a page); None: from the fediverse


async def thread(base_url: str, row: BlogPost, blogs: Iterable[str], target_of: TargetOf) -> list[Reply]:
    """Everything the replies collection of the post `row` lists, oldest first."""
    object_id = post_object_id(actor_id(base_url, row.blog), row.id)
    shown = await Interaction.filter(blog=row.blog, post_id=row.id, kind=InteractionKind.REPLY,
                                     state=InteractionState.PUBLISHED, visibility__in=SHOWN)
    items = [Reply(i.object_id, i.published or i.created_at, None) for i in shown]
    answered = {object_id, *(i.object_id for i in shown)}
    # The URLs an answer may name for what it answers: the prefilter; `target_of` decides.
    names = {row.url, object_id, *(interaction_page(base_url, i.id) for i in shown),
             *(u for i in shown for u in (i.object_id, i.url) if u)}
    if shown:
        resolved = await RemoteObject.filter(object_id__in=[i.object_id for i in shown]).values_list("url", flat=True)
        names.update(str(url) for url in resolved)
    wanted = {normal for u in names if (normal := _normal(u))}
    for answer in await _answers(row, list(blogs), wanted):
        if await target_of(answer) in answered:
            items.append(Reply(post_object_id(actor_id(base_url, answer.blog), answer.id),
                               answer.published or answer.first_seen_at, answer))
    items.sort(key=lambda r: (r.at, r.answer is not None, r.object_id))
    return items


async def _answers(row: BlogPost, blogs: list[str], wanted: set[str]) -> list[BlogPost]:
    """The live posts of `blogs` (but `row`) whose `in_reply_to` names one of `wanted` (normalised URLs)."""
    live = BlogPost.filter(blog__in=blogs, state=PostState.LIVE).exclude(id=row.id)
    if row.published is not None:
        live = live.filter(Q(published__gte=row.published - DATE_SLACK) | Q(published__isnull=True))
    replying = await live.annotate(in_reply_to=RawSQL(_in_reply_to_sql())) \
        .filter(in_reply_to__not_isnull=True).exclude(in_reply_to="[]").values_list("id", "in_reply_to")
    ids = [post_id for post_id, text in replying if any(_normal(u) in wanted for u in _urls(text))]
    return await BlogPost.filter(id__in=ids) if ids else []


def _in_reply_to_sql() -> str:
    """The post's `in_reply_to` as JSON text, read in the database (SQLite's JSON1, PostgreSQL's jsonb)."""
    if connections.get("default").capabilities.dialect == "postgres":
        return "data->>'in_reply_to'"
    return "json_extract(data, '$.in_reply_to')"


def _normal(url: str) -> str | None:
    """`url` as compared (bridge/blog/post.py `normalize_url`); None for one that is no URL at all
    (`http://[`: urlsplit raises), which a blog's markup may hold and must not break the collection."""
    try:
        return normalize_url(url)
    except ValueError:
        return None


def _urls(text: object) -> list[str]:
    """The URLs of a stored `in_reply_to` (a JSON list, or one string as older rows may hold)."""
    if not isinstance(text, str):
        return []
    try:
        value = json.loads(text) if text.startswith("[") else [text]
    except ValueError:
        return []
    return [u for u in value if isinstance(u, str)] if isinstance(value, list) else []
