"""The answers to our blogs' own follows (Bridgy Fed's Bluesky bot: bridge/publish/following.py),
as the `inbox.process` job hands them over (bridge/inbox/dispatch.py).

A flow. An `Accept` or `Reject` of a Follow marks our `OutboundFollow` accepted or rejected. It
is found by the Follow's id the answer echoes (embedded, or a bare id as some servers send
it), else, for an embedded Follow without an id, by its actor (our blog) and object (the
signer). Only the followed account may answer: an answer signed by anyone else changes nothing.
Answers to a Follow we do not have (undone since, or never ours) are logged and dropped.
"""

from __future__ import annotations

import logging

from bridge.as2.ids import id_of
from bridge.core.clock import utcnow
from bridge.inbox.arrival import Arrival
from bridge.inbox.follows import our_blog
from bridge.jobs.store import JobContext
from bridge.models import OutboundFollow, OutboundFollowState

log = logging.getLogger("bridge.inbox_flow")


async def follow_answered(ctx: JobContext, arrival: Arrival) -> None:
    """`Accept` or `Reject` of one of our Follows: the follow marked accepted or rejected."""
    row, inner = arrival.row, arrival.object
    follow_id = id_of(inner)
    found = await OutboundFollow.filter(follow_id=follow_id).first() if follow_id else None
    if found is None and follow_id is None and isinstance(inner, dict) and id_of(inner.get("object")) == row.actor:
        blog = our_blog(ctx.config, id_of(inner.get("actor")))
        if blog is not None:
            found = await OutboundFollow.filter(blog=blog.name, actor_uri=row.actor).first()
    if found is None:
        log.info("inbox.ignored type=%s id=%s actor=%s reason=no follow of ours named %s", row.type, row.activity_id,
                 row.actor, follow_id)
        return
    if found.actor_uri != row.actor:
        log.info("inbox.refused type=%s id=%s actor=%s reason=only %s answers the follow %s", row.type,
                 row.activity_id, row.actor, found.actor_uri, found.follow_id)
        return
    state = OutboundFollowState.ACCEPTED if row.type == "Accept" else OutboundFollowState.REJECTED
    await OutboundFollow.filter(id=found.id).update(state=state, answered_at=utcnow())
    log.info("following.%s blog=%s handle=%s actor=%s follow=%s", state.value, found.blog, found.handle,
             found.actor_uri, found.follow_id)
