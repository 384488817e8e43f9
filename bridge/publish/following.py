"""What our blogs follow: Bridgy Fed's Bluesky bot, for each blog with `bluesky = true` (issue 21).

A flow. Bridgy Fed bridges a fediverse account into Bluesky once the account follows its bot
(`[bluesky] bridge_account`, https://fed.brid.gy/docs); the bot follows back, and what the blog
then delivers to its followers appears on Bluesky as `@name.host.ap.brid.gy`
(bridge/as2/bridgyfed.py).

The `bluesky.reconcile` job makes a blog's `OutboundFollow` rows what its config says. It is
queued at the daemon's start for each blog whose rows disagree with the config
(`enqueue_reconciles`), so a start with nothing changed queues nothing:
- opted in, no row for the configured handle: the handle resolved (WebFinger on its host,
  RFC 7033, then the actor, checked and cached, through RemoteActors), and in one transaction
  the row (pending) and the delivery of the Follow, signed as the blog like every delivery;
- a row for a handle no longer wanted (the blog opted out, or the bot's handle changed): in one
  transaction the row removed and the delivery of its Undo;
- anything else: nothing. The row is the memory: a job run again, or two at once, send nothing
  twice (one row per blog and handle; each delivery keyed by the Follow's id).
The answer comes to the inbox (bridge/inbox/following.py): pending → accepted or rejected. A
rejected follow is not asked again until the blog opts out (a start) and in (another start).
`statuses` is what the dashboard and `bridge check` show of it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bridge.as2.actor import handle as fediverse_handle
from bridge.as2.bridgyfed import (
    block_to_as2,
    bluesky_handle,
    bluesky_profile,
    follow_to_as2,
    undo_to_as2,
)
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.urls import actor_id
from bridge.jobs.kinds import Deliver, ReconcileBluesky
from bridge.jobs.retry import PermanentError
from bridge.jobs.store import JobContext, enqueue
from bridge.models import (
    Follower,
    Job,
    JobState,
    OutboundFollow,
    OutboundFollowState,
    RemoteActor,
)
from bridge.net.remote import (
    ActorGone,
    RemoteActors,
)

log = logging.getLogger("bridge.following")


@dataclass(frozen=True, slots=True)
class BlueskyStatus:
    """A blog's way into Bluesky, as the dashboard and `bridge check` show it."""

    blog: str
    opted_in: bool  # `bluesky = true`; False with a row: the Undo goes out at the next start
    bot: str  # the bot's handle, `@user@host`
    handle: str  # the blog's Bluesky handle, `name.host.ap.brid.gy`
    state: str | None  # pending, accepted or rejected; None: no Follow stored yet
    since: datetime | None  # when the Follow was stored, or answered
    bot_actor: str | None  # the bot's actor id, once resolved
    bot_follows: str | None  # the bot's follow of the blog: accepted, pending (approval), or None
    problem: str | None = None  # why it is stuck: the failed reconcile, or the Follow's failing delivery

    @property
    def profile_url(self) -> str:
        return bluesky_profile(self.handle)


async def statuses(config: Config) -> dict[str, BlueskyStatus]:
    """The Bluesky status of every blog that opted in or still has a follow stored, by blog name."""
    rows = await OutboundFollow.all().order_by("id")
    out: dict[str, BlueskyStatus] = {}
    for blog in config.blogs:
        mine = [r for r in rows if r.blog == blog.name]
        if not blog.bluesky and not mine:
            continue
        bot = config.bluesky.bridge_account
        row = next((r for r in mine if r.handle == bot), None) if blog.bluesky else (mine[0] if mine else None)
        follows = None
        if row is not None:
            back = await Follower.filter(blog=blog.name, actor_uri=row.actor_uri).first()
            follows = back.state.value if back is not None else None
        out[blog.name] = BlueskyStatus(
            blog=blog.name, opted_in=blog.bluesky, bot=row.handle if row is not None else bot,
            handle=bluesky_handle(fediverse_handle(blog, config.server.host)),
            state=row.state.value if row is not None else None,
            since=(row.answered_at or row.created_at) if row is not None else None,
            bot_actor=row.actor_uri if row is not None else None, bot_follows=follows,
            problem=await _problem(blog, row))
    return out


async def _problem(blog: BlogConfig, row: OutboundFollow | None) -> str | None:
    """Why a blog's follow is stuck, from the queue: its Follow's delivery failing (pending), or,
    before there is a row, the reconcile that gave up (an unknown handle, a bot without inbox)."""
    if row is not None and row.state is not OutboundFollowState.PENDING:
        return None
    if row is not None:
        job = await Job.filter(dedupe_key=f"follow:{row.follow_id}").first()
        what = "the Follow's delivery"
    else:
        dead = await Job.filter(kind=ReconcileBluesky.KIND, state=JobState.DEAD).order_by("-id").limit(20)
        job = next((j for j in dead if j.payload.get("blog") == blog.name), None)
        what = "following the bot"
    if job is None or not job.last_error or job.state is JobState.DONE:
        return None
    error = job.last_error.strip().splitlines()[-1][:300]  # a bug's traceback ends with its exception
    return f"{what} {'gave up' if job.state is JobState.DEAD else 'is retrying'} (job {job.id}): {error}"


async def enqueue_reconciles(config: Config) -> int:
    """Queue a `bluesky.reconcile` for each blog whose follows differ from its config (at the
    daemon's start); how many were queued."""
    rows = await OutboundFollow.all().values_list("blog", "handle")
    queued = 0
    for blog in config.blogs:
        have = {str(handle) for name, handle in rows if name == blog.name}
        if have != ({config.bluesky.bridge_account} if blog.bluesky else set()):
            await enqueue(ReconcileBluesky(blog.name))
            queued += 1
    return queued


async def reconcile_job(spec: ReconcileBluesky, job: Job, ctx: JobContext) -> None:
    """Follow the bot, or undo the follow, so that the rows match the config; nothing twice."""
    blog = next((b for b in ctx.config.blogs if b.name == spec.blog), None)
    if blog is None:
        log.info("bluesky.skipped blog=%s reason=not in the config", spec.blog)
        return
    wanted = ctx.config.bluesky.bridge_account if blog.bluesky else None
    rows = await OutboundFollow.filter(blog=blog.name).order_by("id")
    for row in rows:
        if row.handle != wanted:
            await _unfollow(ctx, blog, row)
    if wanted is not None and all(row.handle != wanted for row in rows):
        await _follow(ctx, blog, wanted)


async def _follow(ctx: JobContext, blog: BlogConfig, handle: str) -> None:
    actor = await find_handle(ctx, handle)
    if not actor.inbox:
        raise PermanentError(f"{handle} ({actor.uri}) has no inbox")
    me = actor_id(ctx.config.server.base_url, blog.name)
    # `me#follows/…`: a fragment of the actor (never fetched), unique per row, as our Accepts' ids.
    follow_id = urls.follow_answer_id(me, "Follow", secrets.token_hex(8))
    follow = follow_to_as2(me, actor.uri, follow_id)
    try:
        async with in_transaction() as conn:
            await OutboundFollow.create(blog=blog.name, handle=handle, actor_uri=actor.uri, follow_id=follow_id,
                                        using_db=conn)
            await enqueue(Deliver(blog.name, actor.inbox, activity=follow), dedupe_key=f"follow:{follow_id}",
                          using_db=conn)
    except IntegrityError:  # another job followed it a moment ago: its Follow is the one
        log.info("bluesky.follow_skipped blog=%s handle=%s reason=followed meanwhile", blog.name, handle)
        return
    log.info("bluesky.follow blog=%s handle=%s actor=%s follow=%s", blog.name, handle, actor.uri, follow_id)


async def _unfollow(ctx: JobContext, blog: BlogConfig, row: OutboundFollow) -> None:
    inbox = None
    if row.state is not OutboundFollowState.REJECTED:  # a rejected Follow has nothing to undo
        try:
            inbox = (await RemoteActors(ctx.http, ctx.config.server.base_url).get(row.actor_uri)).inbox
        except ActorGone:
            inbox = None
    me = actor_id(ctx.config.server.base_url, blog.name)
    serial = row.follow_id.rsplit("/", 1)[-1]
    undo_id = urls.follow_answer_id(me, "Undo", serial)
    # Opting out (not a changed handle) also blocks the bot, as Bridgy Fed asks: it stops bridging
    # and deletes the Bluesky copy; its follow of the blog goes too, so nothing more is delivered.
    opt_out = not blog.bluesky
    async with in_transaction() as conn:
        removed = await OutboundFollow.filter(id=row.id).using_db(conn).delete()
        if removed and inbox:
            await enqueue(Deliver(blog.name, inbox, activity=undo_to_as2(me, row.actor_uri, row.follow_id, undo_id)),
                          dedupe_key=f"undo:{row.follow_id}", using_db=conn)
        if removed and opt_out:
            if inbox:
                block = block_to_as2(me, row.actor_uri, urls.follow_answer_id(me, "Block", serial))
                await enqueue(Deliver(blog.name, inbox, activity=block), dedupe_key=f"block:{row.follow_id}",
                              using_db=conn)
            await Follower.filter(blog=blog.name, actor_uri=row.actor_uri).using_db(conn).delete()
    log.info("bluesky.unfollow blog=%s handle=%s actor=%s state=%s undo=%s block=%s", blog.name, row.handle,
             row.actor_uri, row.state.value, bool(removed and inbox), bool(removed and inbox and opt_out))


async def find_handle(ctx: JobContext, handle: str) -> RemoteActor:
    """The bot's actor (bridge/net/remote.py `find_handle`); over plain http too where private addresses are allowed."""
    remote = RemoteActors(ctx.http, ctx.config.server.base_url)
    return await remote.find_handle(handle, plain_http=ctx.config.security.allow_private_addresses)
