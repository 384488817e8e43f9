"""What arrived, to the one handler that acts on it: the `inbox.process` job.

The inbox (bridge/inbox/routes.py) verified and stored the activity; this job reads it
back, drops it if its actor has been blocked since, and hands it to exactly one handler,
chosen by one table from the activity's type and what its object is (after Mastodon's
`ActivityPub::Activity.factory` and Takahē's `InboxMessage` state machine):

| activity | object | handler |
| --- | --- | --- |
| Follow | any | follows.follow |
| Undo | a Follow | follows.undo_follow |
| Undo | a Like, EmojiReact or Announce | interactions.undo |
| Undo | a bare id | undo_reference: the interaction, else the follow it names |
| Block | any | follows.block |
| Move | the actor itself | follows.moved: a follower moved to a new account (FEP-7628), carried over |
| Create / Update | a Note, Article, Question, Page, Audio, Video, Image, Document, Event | interactions.new_reply / edited_reply |
| Update | the actor itself | interactions.refresh_author |
| Delete | the actor itself | actor_deleted: its interactions withdrawn, it follows no more |
| Delete | anything else | interactions.deleted |
| Like, EmojiReact, Announce | any | interactions.reaction |
| QuoteRequest | any | quotes.quote_request: approved (Accept + QuoteAuthorization) or Reject |
| Announce | a Create, Update, Delete, Like, EmojiReact or Undo | group_announce: a group relays a member's activity (FEP-1b12), checked with its author, then handled as the author's |
| Accept / Reject | a Follow, or a bare id | following.follow_answered: our blog's own Follow (Bridgy Fed's bot) accepted or rejected |

Anything else is logged (`inbox.ignored`) and done: it will not get better by retrying.
A `Create` whose object is only an id on the sender's host is fetched first (servers
may send replies by reference). Adding an activity type: a handler in its flow module and
a row in `HANDLERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.as2.ids import id_of
from bridge.as2.interaction import REPLY_TYPES
from bridge.core.links import host_of
from bridge.inbox import following, follows, groups, interactions, quotes
from bridge.inbox.arrival import Arrival
from bridge.inbox.moderation import BlockList
from bridge.jobs.kinds import ProcessInbox
from bridge.jobs.store import JobContext
from bridge.models import InboxActivity, Job
from bridge.net.remote import forget_actor

log = logging.getLogger("bridge.inbox_flow")  # the logger operators' filters know for these events

Handler = Callable[[JobContext, Arrival], Awaitable[None]]
ANY, SELF, REFERENCE = "*", "self", "reference"  # what an object is, besides its type


async def undo_reference(ctx: JobContext, arrival: Arrival) -> None:
    """`Undo` of a bare id: Mastodon looks it up among the things it keeps, and so do we."""
    if not await interactions.withdraw(arrival.object_id, arrival.actor, "undo"):
        await follows.undo_follow(ctx, arrival)


async def actor_deleted(ctx: JobContext, arrival: Arrival) -> None:
    """The actor deleted itself: its interactions are withdrawn, it is gone and follows no blog."""
    withdrawn = await interactions.withdraw_actor(arrival.actor)
    removed = await forget_actor(arrival.actor, "it deleted itself")
    log.info("follower.removed actor=%s reason=actor deleted removed=%d interactions_withdrawn=%d",
             arrival.actor, removed, withdrawn)


async def group_announce(ctx: JobContext, arrival: Arrival) -> None:
    """A group relays a member's activity (FEP-1b12): checked with its author (bridge/inbox/groups.py),
    then handled as the author's own, by the handler the author's activity would have had."""
    group, inner = arrival.actor, arrival.object
    checked = await groups.authentic(ctx, group, inner)
    if checked is None:
        return
    author = str(id_of(checked.get("actor")))
    why = await ctx.state(BlockList).reason(author)
    if why is not None:
        log.info("inbox.dropped id=%s type=%s actor=%s reason=blocked by %s (relayed by %s)", checked["id"],
                 checked["type"], author, why, group)
        return
    handler = handler_for(checked["type"], checked.get("object"), author)
    if handler is None or handler is group_announce:
        log.info("inbox.ignored type=%s id=%s actor=%s relayed_by=%s", checked["type"], checked["id"], author, group)
        return
    # The author's activity as if it had arrived alone: the same row, never saved.
    row = InboxActivity(id=arrival.row.id, activity_id=str(checked["id"]), actor=author, type=checked["type"],
                        key_id=arrival.row.key_id, signature_scheme=arrival.row.signature_scheme, body=checked,
                        recipient=arrival.row.recipient)
    log.info("group.unwrapped group=%s id=%s type=%s actor=%s", group, checked["id"], checked["type"], author)
    await handler(ctx, Arrival(row, checked.get("object")))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("Follow", ANY): follows.follow,
    ("Undo", "Follow"): follows.undo_follow,
    **{("Undo", kind): interactions.undo for kind in interactions.REACTION_TYPES},
    ("Undo", REFERENCE): undo_reference,
    ("Block", ANY): follows.block,
    ("Move", SELF): follows.moved,
    **{("Create", kind): interactions.new_reply for kind in REPLY_TYPES},
    **{("Update", kind): interactions.edited_reply for kind in REPLY_TYPES},
    ("Update", SELF): interactions.refresh_author,
    ("Delete", SELF): actor_deleted,
    ("Delete", ANY): interactions.deleted,
    **{(kind, ANY): interactions.reaction for kind in interactions.REACTION_TYPES},
    ("QuoteRequest", ANY): quotes.quote_request,
    **{("Announce", kind): group_announce for kind in groups.RELAYED},
    **{(verb, kind): following.follow_answered for verb in ("Accept", "Reject") for kind in ("Follow", REFERENCE)},
}


def what_object(obj: Any, actor: str) -> str:
    """SELF (the actor itself), the object's type, REFERENCE (an id alone), or "" (nothing)."""
    if id_of(obj) == actor:
        return SELF
    if isinstance(obj, dict) and isinstance(obj.get("type"), str):
        return str(obj["type"])
    return REFERENCE if id_of(obj) else ""


def handler_for(activity_type: str, obj: Any, actor: str) -> Handler | None:
    """The one handler of this activity, or None."""
    return HANDLERS.get((activity_type, what_object(obj, actor))) or HANDLERS.get((activity_type, ANY))


async def inbox_job(spec: ProcessInbox, job: Job, ctx: JobContext) -> None:
    """Act on one stored inbox activity."""
    row = await InboxActivity.get_or_none(id=spec.inbox_activity)
    if row is None:
        log.info("inbox.gone id=%s", spec.activity_id)
        return
    why = await ctx.state(BlockList).reason(row.actor)
    if why is not None:  # blocked since it arrived: dropped all the same
        log.info("inbox.dropped id=%s type=%s actor=%s reason=blocked by %s", row.activity_id, row.type, row.actor,
                 why)
        return
    obj = row.body.get("object")
    if row.type == "Create" and isinstance(obj, str) and host_of(obj) == host_of(row.actor):
        obj = await interactions.fetch_object(ctx, obj) or obj  # sent by reference: read it from its server
    handler = handler_for(row.type, obj, row.actor)
    if handler is None:
        log.info("inbox.ignored type=%s id=%s actor=%s", row.type, row.activity_id, row.actor)
        return
    await handler(ctx, Arrival(row, obj))
