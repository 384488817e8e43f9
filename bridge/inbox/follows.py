"""Follows and their undoing, as the `inbox.process` job hands them over (bridge/inbox/dispatch.py).

A flow:
- `Follow` of one of our blogs → the follower stored (its inboxes from the actor document,
  bridge/net/remote.py; handle, name and avatar stay in `RemoteActor`) and, in the same
  transaction, a delivery of an `Accept` echoing the Follow (same `id`) to the follower's
  personal inbox. Every Follow is answered, a repeated one too (Mastodon sends its
  Follow again after a key change). With `manually_approves_followers` the follower
  waits as pending until `bridge followers approve|reject`.
- `Undo(Follow)`, `Block` of our blog → removed (the deletion of the follower's own actor:
  bridge/inbox/dispatch.py `actor_deleted`).
- `Move` of a follower to a new account (FEP-7628; Mastodon's account migration): the new
  account, read from its server, must name the old one in `alsoKnownAs`; then each of the
  old account's follows is carried over to the new one (its inboxes, same state and date;
  merged if the new one already follows). The old account's server is not asked again:
  the Move was signed by the old account itself.
The operator's decisions (`bridge followers approve|reject|remove`) answer through
`answer_follow` too (bridge/ops/followers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from bridge.as2.ids import id_of
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.urls import actor_id
from bridge.db import delete_counted
from bridge.inbox.arrival import Arrival
from bridge.jobs.kinds import Deliver
from bridge.jobs.store import JobContext, enqueue, utcnow
from bridge.models import Follower, FollowState, Job
from bridge.net.remote import ActorGone, RemoteActors

log = logging.getLogger("bridge.inbox_flow")


def our_blog(config: Config, uri: str | None) -> BlogConfig | None:
    """The blog whose actor id is `uri`."""
    route = urls.parse(config.server.base_url, uri) if uri else None
    if not isinstance(route, urls.Actor):
        return None
    return next((blog for blog in config.blogs if blog.name == route.name), None)


def follow_echo(follow: Mapping[str, Any]) -> dict[str, Any]:
    """The Follow as echoed in an Accept/Reject: its id, type, actor and object."""
    return {"id": follow["id"], "type": "Follow", "actor": id_of(follow.get("actor")),
            "object": id_of(follow.get("object"))}


def answer_to_as2(verb: str, me: str, follow: Mapping[str, Any], serial: str) -> dict[str, Any]:
    """`Accept` or `Reject` of a Follow, with the Follow echoed (Mastodon finds the
    follow request by the echoed id)."""
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": urls.follow_answer_id(me, verb, serial), "type": verb, "actor": me,
            "to": [id_of(follow.get("actor"))], "object": follow_echo(follow)}


async def answer_follow(base_url: str, follower: Follower, verb: str, serial: str, *, using_db: Any = None) -> Job:
    """Queue an Accept or Reject of the follower's Follow to its personal inbox."""
    me = actor_id(base_url, follower.blog)
    follow = {"id": follower.follow_id, "actor": follower.actor_uri, "object": me}
    answer = answer_to_as2(verb, me, follow, serial)
    return await enqueue(Deliver(follower.blog, follower.inbox, activity=answer),
                         dedupe_key=f"{verb.lower()}:{answer['id']}", using_db=using_db)


async def block(ctx: JobContext, arrival: Arrival) -> None:
    """`Block` of one of our blogs: the blocker follows it no more."""
    blog = our_blog(ctx.config, arrival.object_id)
    if blog is None:
        log.info("inbox.ignored type=Block id=%s actor=%s reason=not one of our actors", arrival.row.activity_id,
                 arrival.actor)
        return
    removed = await delete_counted(Follower.filter(blog=blog.name, actor_uri=arrival.actor))
    log.info("follower.removed blog=%s actor=%s reason=blocked removed=%d", blog.name, arrival.actor, removed)


async def follow(ctx: JobContext, arrival: Arrival) -> None:
    """`Follow` of one of our blogs: stored, and answered with an `Accept` (or pending)."""
    config, row = ctx.config, arrival.row
    blog = our_blog(config, arrival.object_id)
    if blog is None:
        log.info("follow.ignored id=%s object=%s reason=not one of our actors", row.activity_id, arrival.object)
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


async def undo_follow(ctx: JobContext, arrival: Arrival) -> None:
    """`Undo` of a Follow (embedded, or named by its id): the follower is removed."""
    row, inner = arrival.row, arrival.object
    if isinstance(inner, dict):
        if id_of(inner.get("actor")) not in (None, row.actor):
            log.info("undo.ignored id=%s reason=the Follow is not the signer's", row.activity_id)
            return
        blog = our_blog(ctx.config, id_of(inner.get("object")))
        query = Follower.filter(actor_uri=row.actor)
        if blog is not None:
            query = query.filter(blog=blog.name)
        elif inner.get("id"):
            query = query.filter(follow_id=inner["id"])
        else:
            return
    else:
        query = Follower.filter(actor_uri=row.actor, follow_id=id_of(inner))
    removed = await delete_counted(query)
    log.info("follower.removed actor=%s reason=undo removed=%d", row.actor, removed)


async def moved(ctx: JobContext, arrival: Arrival) -> None:
    """`Move` of a follower to a new account: its follows of our blogs carried over."""
    row, old = arrival.row, arrival.actor
    new = id_of(row.body.get("target"))
    if not new or new == old:
        log.info("move.ignored id=%s actor=%s reason=no other account as target", row.activity_id, old)
        return
    try:
        account = await RemoteActors(ctx.http, ctx.config.server.base_url).get(new, refresh=True)
    except ActorGone:
        log.info("move.ignored id=%s actor=%s target=%s reason=the new account is gone", row.activity_id, old, new)
        return
    aliases = account.data.get("alsoKnownAs") if isinstance(account.data, dict) else None
    if old not in [id_of(a) for a in (aliases if isinstance(aliases, list) else [aliases])]:
        log.info("move.refused id=%s actor=%s target=%s reason=the new account does not name the old one in "
                 "alsoKnownAs", row.activity_id, old, new)
        return
    if not account.inbox:
        log.info("move.ignored id=%s actor=%s target=%s reason=the new account has no inbox", row.activity_id, old, new)
        return
    moved_count = 0
    async with in_transaction() as conn:
        for follower in await Follower.filter(actor_uri=old).using_db(conn).select_for_update():
            if await Follower.filter(blog=follower.blog, actor_uri=new).using_db(conn).exists():
                await Follower.filter(id=follower.id).using_db(conn).delete()  # the new account follows already
            else:
                await Follower.filter(id=follower.id).using_db(conn).update(
                    actor_uri=new, inbox=account.inbox, shared_inbox=account.shared_inbox)
            moved_count += 1
    log.info("follower.moved actor=%s target=%s handle=%s follows=%d", old, new, account.handle, moved_count)
