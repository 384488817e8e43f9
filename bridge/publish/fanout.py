"""Publishing and fan-out: one job per activity expands into one `deliver` job per unique inbox.

A flow. `publish` jobs are enqueued with the change that causes them (bridge/publish/polling.py
`record_post`/`mark_gone`): a new post → Create, a changed one → Update, a gone one →
Delete; `deliver.actor_update` (key rotation, changed profile) → Update of the actor.
The activity is built when the job runs, from the row as it is then.

Fan-out streams the blog's accepted followers by keyset on id in batches (memory does not
grow with the follower count): first every shared inbox, then the personal inboxes of
followers without one. Each delivery job carries a dedupe key made of the activity id
and the inbox, so two followers on one shared inbox get one delivery, and a fan-out
that is cut off (kill -9) and run again adds nothing twice. Posts that mention or reply to
fediverse accounts are delivered to those accounts' inboxes too (a mention's link may be
the account's profile page: bridge/net/remote.py `find_actor`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, timedelta
from typing import Any

from bridge.as2.posts import (
    create_to_as2,
    delete_to_as2,
    object_type,
    post_version,
    update_to_as2,
)
from bridge.as2.vocab import AS2_CONTEXT, PUBLIC
from bridge.blog.post import post_from_dict
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.urls import actor_collection, actor_id, post_object_id
from bridge.jobs.kinds import ActorUpdate, Deliver, Publish
from bridge.jobs.store import JobContext, enqueue, enqueue_many
from bridge.models import (
    BlogPost,
    Follower,
    FollowState,
    Job,
    OutboundActivity,
    PostState,
)
from bridge.net.fetch import FetchError
from bridge.net.remote import RemoteActors
from bridge.publish import reply_targets
from bridge.publish.delivery import forget_signing_key
from bridge.publish.documents import actor_document, blog_language, post_object
from bridge.publish.quotes import revoke_quotes

log = logging.getLogger("bridge.fanout")

BATCH = 500  # followers read, and delivery jobs inserted, per round trip
FIRST_BATCH = 64


def delivery_key(activity_id: str, inbox: str) -> str:
    """The dedupe key of one activity's delivery to one inbox (fits the 255-char column)."""
    return "deliver:" + hashlib.sha256(f"{activity_id} {inbox}".encode()).hexdigest()


async def enqueue_publish(blog: str, post_id: int, change: str, fingerprint: str, *, using_db: Any = None) -> Job:
    """Queue the Create/Update/Delete of a post, in the caller's transaction."""
    # `fingerprint`: the post's, or for a removal when it was seen gone (gone, back, gone again: two Deletes).
    return await enqueue(Publish(blog, post_id, change),
                         dedupe_key=f"{Publish.KIND}:{post_id}:{change}:{post_version(fingerprint)}", using_db=using_db)


def too_old(row: BlogPost, max_age: timedelta) -> bool:
    """A post first seen long after its publication: in the outbox, not pushed to timelines."""
    return row.published is not None and row.first_seen_at - row.published > max_age


async def build_activity(config: Config, blog: BlogConfig, row: BlogPost, change: str) -> dict[str, Any] | None:
    """The activity for a change of a post, from the row as it is now; None when nothing is to be sent."""
    base = config.server.base_url
    me = actor_id(base, blog.name)
    if change == "gone":
        if row.state is not PostState.GONE:
            return None  # it came back: its Update follows
        former = object_type(post_from_dict(row.data, row.sources), blog.post_style)
        return delete_to_as2(post_object_id(me, row.id), actor=me, deleted=row.gone_at, former_type=former)
    if row.state is PostState.GONE:
        return None  # deleted since: its Delete follows
    obj = await post_object(base, blog, row, await blog_language(blog.name), [b.name for b in config.blogs])
    if change == "new":
        return create_to_as2(obj)
    return update_to_as2(obj, version=post_version(row.fingerprint))


async def publish_job(spec: Publish, job: Job, ctx: JobContext) -> None:
    """Build the activity of a post's change and fan it out."""
    config = ctx.config
    blog = config.blog(spec.blog)
    row = await BlogPost.get_or_none(id=spec.post)
    change = spec.change
    if row is None:
        log.info("publish.skipped post=%s reason=no such post", spec.post)
        return
    if change == "new" and (not row.announce or too_old(row, timedelta(days=config.delivery.max_post_age_days))):
        log.info("publish.skipped post=%s reason=%s", row.url, "not announced" if not row.announce else "too old")
        return
    if change != "gone":
        post = post_from_dict(row.data, row.sources)
        if post.in_reply_to:  # fediverse posts replied to: resolved once, kept for serving
            await reply_targets.resolve(RemoteActors(ctx.http, config.server.base_url), config.server.base_url,
                                        post.in_reply_to)
    activity = await build_activity(config, blog, row, change)
    if activity is None:
        log.info("publish.skipped post=%s change=%s reason=state is now %s", row.url, change, row.state)
        return
    extra = await _addressed_inboxes(ctx, activity) if change != "gone" else []
    count = await fan_out(blog.name, activity, extra_inboxes=extra)
    if change == "gone":
        await revoke_quotes(config.server.base_url, blog.name, row.id)
    log.info("publish.fanned_out post=%s type=%s deliveries=%d", row.url, activity["type"], count)


async def actor_update_job(spec: ActorUpdate, job: Job, ctx: JobContext) -> None:
    """Send an `Update` of the blog's actor (new key, changed profile) to its followers."""
    config = ctx.config
    blog = config.blog(spec.actor)
    # The key may have just been rotated: this process's deliveries read it afresh.
    forget_signing_key(ctx, blog.name)
    doc = await actor_document(config.server.base_url, blog)
    me = doc["id"]
    stamp = job.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    activity = {"@context": doc.get("@context", AS2_CONTEXT), "id": urls.actor_update_id(me, f"{stamp}-{job.id}"),
                "type": "Update", "actor": me, "to": [PUBLIC], "cc": [actor_collection(me, "followers")],
                "object": {k: v for k, v in doc.items() if k != "@context"}}
    count = await fan_out(blog.name, activity)
    log.info("actor_update.fanned_out blog=%s reason=%s deliveries=%d", blog.name, spec.reason, count)


async def _followers_without_shared_inbox(blog: str) -> AsyncIterator[list[tuple[str, str, str | None]]]:
    """Accepted followers with only a personal inbox, as batches of (actor, inbox, None), by keyset on id."""
    last = 0
    query = Follower.filter(blog=blog, state=FollowState.ACCEPTED, shared_inbox__isnull=True)
    while True:
        rows = await query.filter(id__gt=last).order_by("id").limit(BATCH).values_list(
            "id", "actor_uri", "inbox", "shared_inbox")
        if not rows:
            return
        last = rows[-1][0]
        yield [(actor, inbox, shared_inbox) for _id, actor, inbox, shared_inbox in rows]


async def _shared_inboxes(blog: str) -> AsyncIterator[list[str]]:
    """The distinct shared inboxes of accepted followers, in batches by keyset on the URL:
    the database removes the repeats (10,000 followers on one server are one row)."""
    last = ""
    query = Follower.filter(blog=blog, state=FollowState.ACCEPTED, shared_inbox__isnull=False)
    size = FIRST_BATCH  # a small first batch: the first deliveries start while the rest is read
    while True:
        rows = await query.filter(shared_inbox__gt=last).order_by("shared_inbox").distinct().limit(size).values_list(
            "shared_inbox", flat=True)
        size = BATCH
        if not rows:
            return
        batch = [str(row) for row in rows]
        last = batch[-1]
        yield batch


async def fan_out(blog: str, activity: Mapping[str, Any], *, extra_inboxes: list[str] | tuple[str, ...] = ()) -> int:
    """Enqueue one delivery of `activity` per unique inbox of the blog's followers (shared
    inboxes first) and of `extra_inboxes`; return how many inboxes were addressed."""
    activity_id = activity["id"]
    addressed = 0
    # Stored once; each delivery names it (a rerun after a crash stores it again, harmlessly).
    stored = await OutboundActivity.create(activity_id=activity_id, body=dict(activity))

    async def add(batch: list[tuple[str, str | None]]) -> None:
        nonlocal addressed
        jobs = {}
        for inbox, follower in batch:
            key = delivery_key(activity_id, inbox)
            if key not in jobs:
                jobs[key] = (Deliver(blog, inbox, activity_ref=stored.id, follower=follower), key)
        await enqueue_many(list(jobs.values()))
        addressed += len(jobs)

    async for shared_inboxes in _shared_inboxes(blog):
        await add([(shared_inbox, None) for shared_inbox in shared_inboxes])
    async for rows in _followers_without_shared_inbox(blog):
        await add([(inbox, actor) for actor, inbox, _shared in rows])
    if extra_inboxes:
        await add([(inbox, None) for inbox in extra_inboxes])
    return addressed


async def _addressed_inboxes(ctx: JobContext, activity: Mapping[str, Any]) -> list[str]:
    """Inboxes of the fediverse accounts a post mentions or replies to (best effort: an
    account that cannot be fetched now is left out, and logged)."""
    obj = activity.get("object") or {}
    targets = [t["href"] for t in obj.get("tag", []) if t.get("type") == "Mention" and t.get("href")]
    remote = RemoteActors(ctx.http, ctx.config.server.base_url)
    reply = obj.get("inReplyTo")
    base = ctx.config.server.base_url
    if reply and not urls.is_ours(base, reply):
        try:
            replied = await remote.fetch_document(reply)
            author = replied.get("attributedTo")
            if isinstance(author, str):
                targets.append(author)
        except FetchError as exc:
            log.info("publish.reply_target_unreachable url=%s error=%s", reply, exc)
    inboxes: dict[str, None] = {}  # each inbox once (two accounts on one shared inbox)
    for uri in dict.fromkeys(targets):
        if urls.is_ours(base, uri):
            continue
        try:
            # Mastodon-style mention links name the profile page (https://host/@alice), not the actor id.
            actor = await remote.find_actor(uri)
        except FetchError as exc:
            log.info("publish.mention_unreachable actor=%s error=%s", uri, exc)
            continue
        inbox = actor.shared_inbox or actor.inbox
        if inbox:
            inboxes[inbox] = None
    return list(inboxes)
