"""The operator's side of following (`bridge followers …`): list, approve, reject, remove.

A flow: a decision changes the follower row and queues its answer (`Accept` or `Reject`
of the original Follow, to the follower's personal inbox) in one transaction.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from bridge.config import Config
from bridge.inbox.follows import answer_follow
from bridge.jobs.store import utcnow
from bridge.models import Follower, FollowState, RemoteActor

ACTIONS = ("approve", "reject", "remove")


async def list_followers(config: Config, blog: str | None, *, pending: bool = False) -> list[str]:
    """One line per follower: blog, state, actor id, handle, name, inbox."""
    query = Follower.all() if blog is None else Follower.filter(blog=blog)
    if pending:
        query = query.filter(state=FollowState.PENDING)
    rows = await query.order_by("blog", "id")
    known = {a.uri: a for a in await RemoteActor.filter(uri__in=[r.actor_uri for r in rows])} if rows else {}
    lines = []
    for row in rows:
        actor = known.get(row.actor_uri)
        handle = f"@{actor.handle}" if actor and actor.handle else "-"
        name = (actor.name if actor else None) or "-"
        lines.append(f"{row.blog}\t{row.state.value}\t{row.actor_uri}\t{handle}\t{name}\t{row.shared_inbox or row.inbox}")
    if not lines:
        lines.append("no pending follow requests" if pending else "no followers")
    return lines


async def decide(config: Config, action: str, actor: str, blog: str | None) -> str:
    """Approve (Accept), reject (Reject, row deleted) or remove (Reject, row deleted) a follower.
    Raises LookupError when there is no such follower (or request)."""
    if action not in ACTIONS:
        raise ValueError(action)
    query = Follower.filter(actor_uri=actor)
    if blog is not None:
        query = query.filter(blog=blog)
    if action == "approve":
        query = query.filter(state=FollowState.PENDING)
    rows = await query
    if not rows:
        what = "pending follow request" if action == "approve" else "follower"
        raise LookupError(f"no {what} {actor}" + (f" of {blog}" if blog else ""))
    base = config.server.base_url
    stamp = f"{utcnow().timestamp():.0f}"
    async with in_transaction() as conn:
        for row in rows:
            if action == "approve":
                await Follower.filter(id=row.id).using_db(conn).update(state=FollowState.ACCEPTED, accepted_at=utcnow())
                await answer_follow(base, row, "Accept", f"op{row.id}-{stamp}", using_db=conn)
            else:
                await Follower.filter(id=row.id).using_db(conn).delete()
                await answer_follow(base, row, "Reject", f"op{row.id}-{stamp}", using_db=conn)
    done = {"approve": "approved (Accept queued)", "reject": "rejected (Reject queued)",
            "remove": "removed (Reject queued)"}[action]
    return f"{actor}: {done} for {', '.join(r.blog for r in rows)}"
