"""Quotes of our posts (FEP-044f): requests answered, quotes kept as mentions, permissions revoked.

A flow, run by the `inbox.process` job (bridge/inbox/dispatch.py) and by the publish flow:
- `QuoteRequest` (Mastodon 4.5+, Fedify): its object must be a live post of ours, its
  instrument (the quoting post, embedded or fetched from its server) the sender's own and
  quoting that post. The blog's `quote_policy` decides (bridge/as2/quotes.py `may_quote`):
  approved → the quote is kept as an interaction of kind `quote` (a mention for the blog,
  through the usual moderation and webmention) marked `authorized`, and an `Accept`
  whose `result` is its `QuoteAuthorization` (served by bridge/public/quotes.py) goes to
  the sender; refused → a `Reject`. The Accept is deduplicated, so a retried job sends
  one; a repeated request is answered again with the same authorization.
- `Create`/`Update` of a post that quotes ours without asking (Misskey's `_misskey_quote`,
  `quoteUrl`, Fedibird's `quoteUri`) or after asking: bridge/inbox/interactions.py keeps it
  as a quote; no authorization is made for it.
- A deleted post revokes its authorizations (bridge/publish/quotes.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tortoise.transactions import in_transaction

from bridge.as2.ids import first_id, id_of
from bridge.as2.interaction import reply_from_as2
from bridge.as2.quotes import accept_quote, may_quote, quoted_of, reject_quote
from bridge.core import urls
from bridge.core.links import host_of
from bridge.inbox.arrival import Arrival
from bridge.inbox.interactions import Target, record, resolve_target
from bridge.jobs.kinds import Deliver
from bridge.jobs.store import JobContext, enqueue
from bridge.models import Follower, FollowState, Interaction
from bridge.net.remote import ActorGone, RemoteActors
from bridge.publish.quotes import AUTHORIZED

log = logging.getLogger("bridge.interactions")


async def quote_request(ctx: JobContext, arrival: Arrival) -> None:
    """`QuoteRequest` of one of our posts: approved (kept, Accept) or refused (Reject)."""
    row, request = arrival.row, arrival.activity
    base = ctx.config.server.base_url
    quoted = id_of(request.get("object"))
    target = await resolve_target(ctx.config, quoted)
    route = urls.parse(base, quoted) if quoted else None
    if target is None or target.parent is not None or not isinstance(route, urls.PostObject):
        log.info("quote.ignored id=%s object=%s reason=not a live post of ours", row.activity_id, quoted)
        return
    blog = next(b for b in ctx.config.blogs if b.name == target.blog)
    me = urls.actor_id(base, blog.name)
    quote_id = id_of(request.get("instrument"))
    if not quote_id or host_of(quote_id) != host_of(row.actor):
        log.info("quote.refused id=%s reason=the quoting post %s is not on the sender's host", row.activity_id,
                 quote_id)
        return
    remote = RemoteActors(ctx.http, base)
    try:
        sender = await remote.get(row.actor)
    except ActorGone:
        log.info("quote.ignored id=%s reason=its actor is gone", row.activity_id)
        return
    follower = await Follower.exists(blog=blog.name, actor_uri=row.actor, state=FollowState.ACCEPTED)
    if not may_quote(blog.quote_policy, is_follower=follower) or not sender.inbox:
        if sender.inbox:
            answer = reject_quote(request, actor=me, answer_id=urls.follow_answer_id(me, "Reject", f"quotes/in{row.id}"))
            await enqueue(Deliver(blog.name, sender.inbox, activity=answer), dedupe_key=f"reject:{answer['id']}")
        log.info("quote.rejected id=%s blog=%s actor=%s policy=%s follower=%s", row.activity_id, blog.name,
                 row.actor, blog.quote_policy, follower)
        return
    instrument = request.get("instrument")
    # Embedded: trusted as the signer's own only if it says so; otherwise read from its server.
    obj: Any = instrument if isinstance(instrument, dict) and first_id(instrument.get("attributedTo")) == row.actor \
        else await remote.fetch_document(quote_id)
    if first_id(obj.get("attributedTo")) != row.actor or quoted_of(obj) != quoted:
        log.info("quote.refused id=%s reason=the instrument is not the sender's quote of %s", row.activity_id, quoted)
        return
    try:
        seen = replace(reply_from_as2(obj, row.actor, request), kind="quote", in_reply_to=quoted)
    except ValueError as exc:
        log.info("quote.ignored id=%s reason=%s", row.activity_id, exc)
        return
    kept = await record(ctx, seen, Target(target.blog, target.url, target.post_id), update=False)
    if kept is None:
        return
    async with in_transaction() as conn:
        kept = await Interaction.filter(id=kept.id).using_db(conn).select_for_update().get()
        kept.data = {**(kept.data or {}), AUTHORIZED: True}
        await kept.save(using_db=conn, update_fields=["data", "updated_at"])
        authorization = urls.quote_authorization(me, kept.id)
        answer = accept_quote(request, actor=me, authorization=authorization,
                              answer_id=urls.follow_answer_id(me, "Accept", f"quote_requests/{kept.id}"))
        await enqueue(Deliver(blog.name, sender.inbox, activity=answer),
                      dedupe_key=f"accept:{answer['id']}:{row.activity_id}", using_db=conn)
    log.info("quote.accepted id=%s blog=%s actor=%s quote=%s authorization=%s", row.activity_id, blog.name,
             row.actor, quote_id, authorization)
