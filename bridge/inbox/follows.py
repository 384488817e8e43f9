"""Handling what arrived at the inboxes (`inbox.process` jobs): follows and their undoing.

A flow. The inbox (bridge/inbox/routes.py) verified and stored the activity; this job acts on it:
- `Follow` of one of our blogs → the follower stored (its inboxes from the actor document,
  bridge/net/remote.py; handle, name and avatar stay in `RemoteActor`) and, in the same
  transaction, a delivery of an `Accept` echoing the Follow (same `id`) to the follower's
  personal inbox. Every Follow is answered, a repeated one too (Mastodon sends its
  Follow again after a key change). With `manually_approves_followers` the follower
  waits as pending until `bridge followers approve|reject`.
- `Undo(Follow)`, `Block` of our blog → removed; `Delete` of the follower's own actor → marked
  gone and removed from every blog (`remote.forget_actor`, as for a 410 on its document).
- Replies, likes, boosts, their edits and withdrawals: bridge/inbox/interactions.py.
- Anything else: logged and done (never retried: it will not get better).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from bridge.as2.ids import id_of
from bridge.config import BlogConfig, Config
from bridge.core.urls import actor_id
from bridge.inbox import interactions as interaction_flow
from bridge.jobs.store import JobContext, enqueue, utcnow
from bridge.models import Follower, FollowState, InboxActivity, Job
from bridge.net.remote import ActorGone, RemoteActors, forget_actor
from bridge.publish.delivery import DELIVER_JOB, deliver_payload

log = logging.getLogger("bridge.inbox_flow")


def our_blog(config: Config, uri: str | None) -> BlogConfig | None:
    """The blog whose actor id is `uri`."""
    for blog in config.blogs:
        if uri == actor_id(config.server.base_url, blog.name):
            return blog
    return None


def follow_echo(follow: Mapping[str, Any]) -> dict[str, Any]:
    """The Follow as echoed in an Accept/Reject: its id, type, actor and object."""
    return {"id": follow["id"], "type": "Follow", "actor": id_of(follow.get("actor")),
            "object": id_of(follow.get("object"))}


def answer_to_as2(verb: str, me: str, follow: Mapping[str, Any], serial: str) -> dict[str, Any]:
    """`Accept` or `Reject` of a Follow, with the Follow echoed (Mastodon finds the
    follow request by the echoed id)."""
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{me}#{verb.lower()}s/{serial}", "type": verb, "actor": me,
            "to": [id_of(follow.get("actor"))], "object": follow_echo(follow)}


async def answer_follow(base_url: str, follower: Follower, verb: str, serial: str, *, using_db: Any = None) -> Job:
    """Queue an Accept or Reject of the follower's Follow to its personal inbox."""
    me = actor_id(base_url, follower.blog)
    follow = {"id": follower.follow_id, "actor": follower.actor_uri, "object": me}
    answer = answer_to_as2(verb, me, follow, serial)
    return await enqueue(DELIVER_JOB, deliver_payload(follower.blog, follower.inbox, answer),
                         dedupe_key=f"{verb.lower()}:{answer['id']}", using_db=using_db)


async def inbox_job(job: Job, ctx: JobContext) -> None:
    """Act on one stored inbox activity."""
    assert ctx.config is not None
    row = await InboxActivity.get_or_none(id=job.payload["inbox_activity"])
    if row is None:
        log.info("inbox.gone id=%s", job.payload.get("activity_id"))
        return
    activity = row.body
    kind = row.type
    if await interaction_flow.handle(ctx, row):  # replies, likes, boosts and their withdrawal
        return
    if kind == "Follow":
        await _follow(ctx, row, activity)
    elif kind == "Undo" and _type_of(activity.get("object")) in ("Follow", None):
        await _undo_follow(ctx.config, row, activity)
    elif kind == "Block":
        blog = our_blog(ctx.config, id_of(activity.get("object")))
        if blog is not None:
            await _remove(blog.name, row.actor, "blocked")
    elif kind == "Delete" and id_of(activity.get("object")) == row.actor:
        removed = await forget_actor(row.actor, "it deleted itself")  # gone, and from every blog
        log.info("follower.removed actor=%s reason=actor deleted removed=%d", row.actor, removed)
    else:
        log.info("inbox.ignored type=%s id=%s actor=%s", kind, row.activity_id, row.actor)


def _type_of(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else None


async def _follow(ctx: JobContext, row: InboxActivity, follow: dict[str, Any]) -> None:
    assert ctx.config is not None
    config = ctx.config
    blog = our_blog(config, id_of(follow.get("object")))
    if blog is None:
        log.info("follow.ignored id=%s object=%s reason=not one of our actors", row.activity_id, follow.get("object"))
        return
    try:
        actor = await RemoteActors(ctx.http, config.server.base_url).get(row.actor)
    except ActorGone:
        log.info("follow.ignored id=%s actor=%s reason=actor gone", row.activity_id, row.actor)
        return
    if not actor.inbox:
        log.info("follow.ignored id=%s actor=%s reason=no inbox", row.activity_id, row.actor)
        return
    now = utcnow()
    async with in_transaction() as conn:
        existing = await Follower.filter(blog=blog.name, actor_uri=row.actor).using_db(conn).select_for_update().first()
        accepted = (existing is not None and existing.state is FollowState.ACCEPTED) or not blog.manually_approves_followers
        values = {"inbox": actor.inbox, "shared_inbox": actor.shared_inbox, "follow_id": row.activity_id,
                  "state": FollowState.ACCEPTED if accepted else FollowState.PENDING}
        if existing is None:
            follower = await Follower.create(blog=blog.name, actor_uri=row.actor, accepted_at=now if accepted else None,
                                             using_db=conn, **values)
        else:
            await Follower.filter(id=existing.id).using_db(conn).update(**values)
            follower = await Follower.filter(id=existing.id).using_db(conn).get()
        if accepted:
            await answer_follow(config.server.base_url, follower, "Accept", f"in{row.id}", using_db=conn)
    log.info("follow.%s blog=%s actor=%s handle=%s repeated=%s", "accepted" if accepted else "pending",
             blog.name, row.actor, actor.handle, existing is not None)


async def _undo_follow(config: Config, row: InboxActivity, undo: dict[str, Any]) -> None:
    inner = undo.get("object")
    if isinstance(inner, dict):
        if id_of(inner.get("actor")) not in (None, row.actor):
            log.info("undo.ignored id=%s reason=the Follow is not the signer's", row.activity_id)
            return
        blog = our_blog(config, id_of(inner.get("object")))
        query = Follower.filter(actor_uri=row.actor)
        if blog is not None:
            query = query.filter(blog=blog.name)
        elif inner.get("id"):
            query = query.filter(follow_id=inner["id"])
        else:
            return
    else:
        query = Follower.filter(actor_uri=row.actor, follow_id=id_of(inner))
    removed = await query.delete()
    log.info("follower.removed actor=%s reason=undo removed=%d", row.actor, removed)


async def _remove(blog: str, actor: str, reason: str) -> None:
    removed = await Follower.filter(blog=blog, actor_uri=actor).delete()
    log.info("follower.removed blog=%s actor=%s reason=%s removed=%d", blog, actor, reason, removed)
