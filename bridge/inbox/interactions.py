"""Replies, likes and boosts from the fediverse → interactions → webmentions to the blog.

A flow, run by the `inbox.process` job (bridge/inbox/dispatch.py chooses the handler):
- `Create` of a Note/Article/Question/Page (or media, an Event: as2/interaction.REPLY_TYPES)
  that answers one of our posts (its object id or its permalink), answers an interaction
  we keep (a thread: its parent), answers a post whose thread leads to one of ours
  (followed up to MAX_THREAD_DEPTH fetches), or mentions a blog's actor (then the target
  is the blog's home page) → a reply (a Note sent by reference only, on the sender's
  host, is fetched); `Like` → a like, `EmojiReact` (or a `Like` with an emoji) → a like
  that carries its emoji, sent as a reacji (bridge/webmention/hentry.py); `Announce` →
  a repost. Anything else is not ours.
- `Update` of a reply → re-rendered and its webmention sent again; `Delete` (of the
  reply, or of the whole actor) and `Undo` (of a like or boost) → withdrawn: the page
  answers 410 and the webmention is sent again so the blog drops the comment.
- Moderation (bridge/inbox/moderation.py): blocked actors and domains were dropped before
  (by the inbox, or by the dispatch if blocked since), rate limits drop the surplus,
  `hold_interactions` keeps new ones HELD until approved (bridge/ops/interactions.py).
- Followers-only and direct replies are kept for the operator (state PRIVATE): their page
  is never served and no webmention is sent.
The interaction row and its `webmention.send` job commit in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tortoise.transactions import in_transaction

from bridge.as2.ids import first_id
from bridge.as2.interaction import REACTION_KINDS, reaction_from_as2, reply_from_as2
from bridge.as2.interaction import Interaction as Seen
from bridge.as2.quotes import quoted_of
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.core.links import host_of, is_http_url
from bridge.core.urls import actor_id
from bridge.inbox.arrival import Arrival
from bridge.inbox.moderation import rate_limited
from bridge.jobs.store import JobContext
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionKind,
    InteractionState,
    PostState,
    Visibility,
)
from bridge.net.fetch import FetchError
from bridge.net.remote import ActorGone, RemoteActors
from bridge.webmention.send import queue_webmention

log = logging.getLogger("bridge.interactions")

REACTION_TYPES = tuple(REACTION_KINDS)  # Like, EmojiReact, Announce
MAX_THREAD_DEPTH = 4  # parents fetched to find one of our posts at the root of a thread
_GONE = (InteractionState.DELETED, InteractionState.REJECTED)


@dataclass(frozen=True, slots=True)
class Target:
    blog: str
    url: str  # the blog's permalink: the webmention target
    post_id: int | None = None
    parent: Interaction | None = None  # the interaction answered, in a thread


async def fetch_object(ctx: JobContext, url: str) -> dict[str, Any] | None:
    """An object sent by reference, read from its server (None, logged, when it cannot be)."""
    try:
        return await RemoteActors(ctx.http, ctx.config.server.base_url).fetch_document(url)
    except FetchError as exc:
        log.info("interaction.object_unreachable url=%s error=%s", url, exc)
        return None


# -- what an activity is about -----------------------------------------------------------

async def resolve_target(config: Config, ref: str | None) -> Target | None:
    """The blog post (or kept interaction) `ref` names, by id, permalink or page URL."""
    if not ref:
        return None
    blogs = {b.name: b for b in config.blogs}
    route = urls.parse(config.server.base_url, ref)
    if isinstance(route, urls.PostObject):
        return _post_target(await BlogPost.get_or_none(id=route.post_id, blog=route.name), blogs)
    if isinstance(route, urls.InteractionPage):
        return _parent_target(await Interaction.get_or_none(id=route.interaction_id))
    if urls.is_ours(config.server.base_url, ref):
        return None  # another URL of ours (an actor, a collection), or one we never minted
    post = await BlogPost.filter(url=ref, blog__in=list(blogs)).first()
    if post is not None:
        return _post_target(post, blogs)
    parent = await Interaction.filter(object_id=ref).first() or await Interaction.filter(url=ref).first()
    return _parent_target(parent)


def _post_target(post: BlogPost | None, blogs: Mapping[str, BlogConfig]) -> Target | None:
    if post is None or post.blog not in blogs or post.state is PostState.GONE:
        return None
    return Target(blog=post.blog, url=post.url, post_id=post.id)


def _parent_target(parent: Interaction | None) -> Target | None:
    if parent is None or parent.kind is not InteractionKind.REPLY or parent.state in _GONE:
        return None
    return Target(blog=parent.blog, url=parent.target_url, post_id=parent.post_id, parent=parent)


async def _thread_target(ctx: JobContext, ref: str | None) -> Target | None:
    """Follow `inReplyTo` upwards through documents we do not keep, to one of ours."""
    remote = RemoteActors(ctx.http, ctx.config.server.base_url)
    for _ in range(MAX_THREAD_DEPTH):
        if not is_http_url(ref) or urls.is_ours(ctx.config.server.base_url, str(ref)):
            return None
        try:
            doc = await remote.fetch_document(str(ref))
        except FetchError as exc:
            log.info("interaction.thread_unreachable url=%s error=%s", ref, exc)
            return None
        ref = first_id(doc.get("inReplyTo"))
        found = await resolve_target(ctx.config, ref)
        if found is not None:
            return Target(blog=found.blog, url=found.url, post_id=found.post_id)  # not a parent we show
    return None


def _mentioned_blog(config: Config, seen: Seen) -> BlogConfig | None:
    for blog in config.blogs:
        me = actor_id(config.server.base_url, blog.name)
        if me in seen.mentions or me in seen.addressed:
            return blog
    return None


async def _reply_target(ctx: JobContext, seen: Seen) -> Target | None:
    target = await resolve_target(ctx.config, seen.in_reply_to)
    if target is None and seen.in_reply_to:
        target = await _thread_target(ctx, seen.in_reply_to)
    if target is None and (blog := _mentioned_blog(ctx.config, seen)) is not None:
        target = Target(blog=blog.name, url=blog.url)
    return target


# -- recording -----------------------------------------------------------------------------

async def new_reply(ctx: JobContext, arrival: Arrival) -> None:
    """`Create` of a Note (Article, Question, Page, media, Event): a reply, if it answers something of ours."""
    await _reply(ctx, arrival, update=False)


async def edited_reply(ctx: JobContext, arrival: Arrival) -> None:
    """`Update` of a Note (…): the reply's page changes and the blog is told again."""
    await _reply(ctx, arrival, update=True)


async def _reply(ctx: JobContext, arrival: Arrival, *, update: bool) -> None:
    row, obj = arrival.row, arrival.object
    # Authorise: the reply is the signer's own, and lives on the signer's host (Mastodon's rule).
    author = first_id(obj.get("attributedTo"))
    if author != row.actor or host_of(str(obj.get("id", ""))) != host_of(row.actor):
        log.info("interaction.refused id=%s reason=the object is not the signer's", row.activity_id)
        return
    try:
        seen = reply_from_as2(obj, row.actor, row.body)
    except ValueError as exc:
        log.info("interaction.ignored id=%s reason=%s", row.activity_id, exc)
        return
    existing = await Interaction.get_or_none(object_id=seen.object_id)
    target: Target | None = Target(existing.blog, existing.target_url, existing.post_id) if existing else \
        await _reply_target(ctx, seen)
    quoted = quoted_of(obj)
    if (existing is None and target is None and quoted) or (existing and existing.kind is InteractionKind.QUOTE):
        # Not a reply to us, but a quote of one of our posts (asked for or not): a mention for the blog.
        target = target or await resolve_target(ctx.config, quoted)
        seen = replace(seen, kind="quote", in_reply_to=quoted or (existing.in_reply_to if existing else None))
    if target is None or (target.parent is not None and seen.kind == "quote"):
        log.info("interaction.ignored id=%s reason=not about one of our posts", row.activity_id)
        return
    await record(ctx, seen, target, update=update or existing is not None)


async def reaction(ctx: JobContext, arrival: Arrival) -> None:
    """`Like`, `EmojiReact`: a like; `Announce`: a repost, if of something of ours."""
    row = arrival.row
    try:
        seen = reaction_from_as2(row.body, row.actor)
    except ValueError as exc:
        log.info("interaction.ignored id=%s reason=%s", row.activity_id, exc)
        return
    if host_of(seen.object_id) != host_of(row.actor):
        log.info("interaction.refused id=%s reason=the activity id is not on the signer's host", row.activity_id)
        return
    target = await resolve_target(ctx.config, seen.in_reply_to)
    if target is None:
        log.info("interaction.ignored id=%s type=%s reason=not about one of our posts", row.activity_id, row.type)
        return
    await record(ctx, seen, Target(target.blog, target.url, target.post_id), update=False)


async def record(ctx: JobContext, seen: Seen, target: Target, *, update: bool) -> Interaction | None:
    """Store (or update) the interaction and, when it is public, queue its webmention."""
    settings = ctx.config.moderation
    existing = await Interaction.get_or_none(object_id=seen.object_id)
    if existing is None:
        why = await rate_limited(settings, seen.actor)
        if why is not None:
            log.info("interaction.dropped object=%s actor=%s reason=%s", seen.object_id, seen.actor, why)
            return None
    elif existing.actor_uri != seen.actor:
        log.info("interaction.refused object=%s reason=it belongs to %s", seen.object_id, existing.actor_uri)
        return None
    elif existing.state in _GONE:
        log.info("interaction.ignored object=%s reason=already %s", seen.object_id, existing.state)
        return existing
    try:
        actor = await RemoteActors(ctx.http, ctx.config.server.base_url).get(seen.actor)
    except ActorGone:
        log.info("interaction.ignored object=%s reason=its actor is gone", seen.object_id)
        return None
    private = seen.visibility in ("followers", "direct")
    values: dict[str, Any] = {
        "blog": target.blog, "kind": InteractionKind(seen.kind), "object_id": seen.object_id,
        "activity_id": seen.activity_id, "url": seen.url,
        "actor_uri": seen.actor, "host": (actor.host or host_of(seen.actor)).split(":")[0],
        "author_name": actor.name, "author_photo": actor.icon_url,
        "author_url": actor.profile_url or actor.uri, "author_handle": actor.handle,
        "content": seen.content_html, "summary": seen.summary, "visibility": Visibility(seen.visibility),
        "in_reply_to": seen.in_reply_to, "target_url": target.url, "post_id": target.post_id,
        "parent_id": target.parent.id if target.parent else None,
        "data": {**(existing.data if existing else {}), **seen.extras()},  # keeps what the flows added (a quote's approval)
        "published": seen.published or utcnow(), "edited": seen.updated if update else None,
    }
    async with in_transaction() as conn:
        if existing is None:
            state = InteractionState.PRIVATE if private else (
                InteractionState.HELD if settings.hold_interactions else InteractionState.PUBLISHED)
            row = await Interaction.create(state=state, using_db=conn, **values)
        else:
            row = await Interaction.filter(id=existing.id).using_db(conn).select_for_update().get()
            for key, value in values.items():
                if key not in ("blog", "target_url", "post_id", "parent_id", "activity_id") or value is not None:
                    setattr(row, key, value)
            if private and row.state is InteractionState.PUBLISHED:
                row.state = InteractionState.PRIVATE  # made private by an edit: taken down below
            await row.save(using_db=conn)
        send = row.state is InteractionState.PUBLISHED or (
            existing is not None and existing.state is InteractionState.PUBLISHED)
        if send:
            await queue_webmention(row, "update" if existing else "new", using_db=conn)
    log.info("interaction.%s id=%d kind=%s blog=%s actor=%s state=%s visibility=%s target=%s",
             "updated" if existing else "recorded", row.id, row.kind, row.blog, row.actor_uri, row.state,
             row.visibility, row.target_url)
    return row


async def undo(ctx: JobContext, arrival: Arrival) -> None:
    """`Undo` of a like or a boost: withdrawn, and the blog told."""
    if not await withdraw(arrival.object_id, arrival.actor, "undo"):
        log.info("inbox.ignored type=Undo id=%s actor=%s reason=no such interaction", arrival.row.activity_id,
                 arrival.actor)


async def deleted(ctx: JobContext, arrival: Arrival) -> None:
    """`Delete` of a reply: withdrawn, and the blog told."""
    if not await withdraw(arrival.object_id, arrival.actor, "delete"):
        log.info("inbox.ignored type=Delete id=%s actor=%s reason=no such interaction", arrival.row.activity_id,
                 arrival.actor)


async def withdraw(object_id: str | None, actor: str, reason: str) -> bool:
    """Withdraw the interaction `object_id` of `actor`; False when there is none."""
    if not object_id:
        return False
    row = await Interaction.get_or_none(object_id=object_id)
    if row is None:
        return False
    if row.actor_uri != actor:
        log.info("interaction.refused object=%s reason=%s by someone else", object_id, reason)
        return True
    await _take_down(row, reason)
    return True


async def _take_down(row: Interaction, reason: str) -> None:
    async with in_transaction() as conn:
        row = await Interaction.filter(id=row.id).using_db(conn).select_for_update().get()
        if row.state in _GONE:
            return
        was_public = row.state is InteractionState.PUBLISHED
        row.state = InteractionState.DELETED
        row.deleted_at = utcnow()
        await row.save(using_db=conn, update_fields=["state", "deleted_at", "updated_at"])
        if was_public:  # the blog is told again: the source now answers 410
            await queue_webmention(row, reason, using_db=conn)
    log.info("interaction.withdrawn id=%d reason=%s told_blog=%s", row.id, reason, was_public)


async def withdraw_actor(actor: str) -> int:
    """An actor deleted itself: every interaction of it is withdrawn."""
    rows = await Interaction.filter(actor_uri=actor).exclude(state__in=list(_GONE))
    for row in rows:
        await _take_down(row, "actor deleted")
    return len(rows)


async def refresh_author(ctx: JobContext, arrival: Arrival) -> None:
    """`Update` of the actor itself, a changed profile: later pages show the new name and avatar."""
    actor = arrival.actor
    try:
        fresh = await RemoteActors(ctx.http, ctx.config.server.base_url).get(actor, refresh=True)
    except FetchError as exc:
        log.info("interaction.profile_unreachable actor=%s error=%s", actor, exc)
        return
    changed = await Interaction.filter(actor_uri=actor).update(
        author_name=fresh.name, author_photo=fresh.icon_url, author_url=fresh.profile_url or fresh.uri,
        author_handle=fresh.handle)
    log.info("interaction.author_refreshed actor=%s interactions=%d", actor, changed)
