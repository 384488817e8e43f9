"""What the dashboard shows, read from the database: per-blog overview, followers,
posts with their delivery state, unavailable hosts, dead jobs. An edge (tortoise only);
the pages (bridge/ops/admin/pages.py) render these dataclasses.

Delivery jobs name the stored activity they send (`payload.activity_ref`, see
bridge/publish/delivery.py); a post's activities have ids under the post's object id
(bridge/core/urls.py), which ties deliveries to posts. Finished jobs are pruned after
`queue.keep_done_days`, so "delivered" counts the recent deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from bridge.config import Config
from bridge.core import urls
from bridge.core.urls import actor_id, post_object_id
from bridge.jobs.kinds import Deliver
from bridge.models import (
    BlogPost,
    BlogState,
    Follower,
    FollowState,
    Job,
    JobState,
    OutboundActivity,
    RemoteActor,
    RemoteHost,
)
from bridge.publish.following import BlueskyStatus, statuses

PAGE = 50


@dataclass
class DeliveryCounts:
    delivered: int = 0
    pending: int = 0
    failed: int = 0  # dead: given up
    retrying: int = 0  # pending, with at least one failed attempt


@dataclass
class BlogOverview:
    name: str
    url: str
    followers: int
    pending_followers: int
    posts: int
    queue: dict[str, int]  # kind -> queued or running jobs
    failing_deliveries: int  # retrying or dead
    last_poll_at: datetime | None
    last_poll_error: str | None
    polls: int
    interactions_held: int | None = None  # None: interactions are not built in this version
    # kind (bridge/ops/interactions.py KIND_FILTERS: a reaction apart from a like) -> count
    interactions: dict[str, int] = field(default_factory=dict)
    reactions: list[tuple[str, int]] = field(default_factory=list)  # the most frequent emoji, most first
    bluesky: BlueskyStatus | None = None  # Bluesky through Bridgy Fed, when opted in (bridge/publish/following.py)


@dataclass
class FollowerRow:
    id: int
    blog: str
    actor_uri: str
    state: str
    since: datetime
    handle: str | None
    name: str | None
    profile_url: str | None
    icon_url: str | None
    inbox: str


@dataclass
class DeliveryRow:
    job_id: int
    inbox: str
    state: str
    attempts: int
    last_error: str | None
    updated_at: datetime
    activity_type: str


@dataclass
class PostRow:
    id: int
    blog: str
    url: str
    title: str
    state: str
    published: datetime | None
    counts: DeliveryCounts = field(default_factory=DeliveryCounts)


async def _delivery_states() -> dict[int, dict[tuple[str, bool], int]]:
    """activity_ref -> {(state, attempted): count} over every delivery job, grouped by the database."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        ref = "(payload->>'activity_ref')"
        sql = (f"SELECT {ref} AS ref, state, attempts > 0 AND last_error IS NOT NULL AS tried, COUNT(*) "
               f"FROM jobs WHERE kind = $1 AND {ref} IS NOT NULL GROUP BY 1, 2, 3")
    else:
        ref = "json_extract(payload, '$.activity_ref')"
        sql = (f"SELECT {ref} AS ref, state, attempts > 0 AND last_error IS NOT NULL AS tried, COUNT(*) "
               f"FROM jobs WHERE kind = ? AND {ref} IS NOT NULL GROUP BY 1, 2, 3")
    _n, rows = await conn.execute_query(sql, [Deliver.KIND])
    out: dict[int, dict[tuple[str, bool], int]] = defaultdict(dict)
    for row in rows:
        values = list(row.values()) if hasattr(row, "values") else list(row)
        out[int(values[0])][(str(values[1]), bool(values[2]))] = int(values[3])
    return out


def _count(states: dict[tuple[str, bool], int], into: DeliveryCounts) -> None:
    for (state, tried), n in states.items():
        if state == JobState.DONE.value:
            into.delivered += n
        elif state == JobState.DEAD.value:
            into.failed += n
        else:
            into.pending += n
            if tried:
                into.retrying += n


async def overview(config: Config, held: dict[str, int] | None = None) -> list[BlogOverview]:
    """One summary per configured blog. `held`: interactions held per blog, when they exist."""
    follower_rows = await Follower.annotate(n=Count("id")).group_by("blog", "state").values_list("blog", "state", "n")
    post_rows = await BlogPost.annotate(n=Count("id")).group_by("blog").values_list("blog", "n")
    states = {s.name: s for s in await BlogState.all()}
    queued = await _queued_by_blog()
    deliveries = await _delivery_states()
    refs = await OutboundActivity.filter(id__in=list(deliveries)).values_list("id", "activity_id") if deliveries else []
    bluesky = await statuses(config)
    out = []
    for blog in config.blogs:
        me = actor_id(config.server.base_url, blog.name)
        followers = sum(n for b, s, n in follower_rows if b == blog.name and str(s) == FollowState.ACCEPTED.value)
        pending = sum(n for b, s, n in follower_rows if b == blog.name and str(s) == FollowState.PENDING.value)
        queue = {kind: n for (owner, kind), n in queued.items() if owner == blog.name}
        failing = DeliveryCounts()
        for ref, activity in refs:
            if str(activity).startswith(me + "/") or str(activity).startswith(me + "#"):
                _count(deliveries[ref], failing)
        state = states.get(blog.name)
        out.append(BlogOverview(
            name=blog.name, url=blog.url, followers=followers, pending_followers=pending,
            posts=sum(n for b, n in post_rows if b == blog.name), queue=dict(sorted(queue.items())),
            failing_deliveries=failing.failed + failing.retrying,
            last_poll_at=state.last_poll_at if state else None,
            last_poll_error=state.last_poll_error if state else None, polls=state.polls if state else 0,
            interactions_held=None if held is None else held.get(blog.name, 0), bluesky=bluesky.get(blog.name)))
    return out


async def _queued_by_blog() -> dict[tuple[str, str], int]:
    """(blog, kind) -> jobs queued or running, counted by the database. The blog is what the
    payload names: `blog`, else `actor` (a delivery's signer), else `recipient` (an inbox's)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        owner = "COALESCE(payload->>'blog', payload->>'actor', payload->>'recipient')"
        where = "state IN ($1, $2)"
    else:
        owner = ("COALESCE(json_extract(payload, '$.blog'), json_extract(payload, '$.actor'), "
                 "json_extract(payload, '$.recipient'))")
        where = "state IN (?, ?)"
    sql = f"SELECT {owner} AS owner, kind, COUNT(*) FROM jobs WHERE {where} GROUP BY 1, 2"
    _n, rows = await conn.execute_query(sql, [JobState.QUEUED.value, JobState.RUNNING.value])
    out: dict[tuple[str, str], int] = {}
    for row in rows:
        values = list(row.values()) if hasattr(row, "values") else list(row)
        if isinstance(values[0], str):
            out[(values[0], str(values[1]))] = int(values[2])
    return dict(sorted(out.items()))


async def followers(blog: str | None, search: str = "", offset: int = 0) -> tuple[list[FollowerRow], int]:
    query = Follower.all() if not blog else Follower.filter(blog=blog)
    if search:
        matching = await RemoteActor.filter(handle__icontains=search).values_list("uri", flat=True)
        named = await RemoteActor.filter(name__icontains=search).values_list("uri", flat=True)
        uris = set(map(str, matching)) | set(map(str, named))
        query = query.filter(Q(actor_uri__in=list(uris)) | Q(actor_uri__icontains=search))
    total = await query.count()
    rows = await query.order_by("-id").offset(offset).limit(PAGE)
    actors = {a.uri: a for a in await RemoteActor.filter(uri__in=[r.actor_uri for r in rows])} if rows else {}
    out = []
    for row in rows:
        actor = actors.get(row.actor_uri)
        out.append(FollowerRow(
            id=row.id, blog=row.blog, actor_uri=row.actor_uri, state=row.state.value,
            since=row.accepted_at or row.created_at, handle=actor.handle if actor else None,
            name=actor.name if actor else None, profile_url=(actor.profile_url if actor else None) or row.actor_uri,
            icon_url=actor.icon_url if actor else None, inbox=row.shared_inbox or row.inbox))
    return out, total


async def posts(config: Config, blog: str | None, offset: int = 0) -> tuple[list[PostRow], int]:
    query = BlogPost.all() if not blog else BlogPost.filter(blog=blog)
    total = await query.count()
    rows = await query.order_by("-published", "-id").offset(offset).limit(PAGE)
    deliveries = await _delivery_states()
    refs = await OutboundActivity.filter(id__in=list(deliveries)).values_list("id", "activity_id") if deliveries else []
    out = []
    for row in rows:
        prefix = post_object_id(actor_id(config.server.base_url, row.blog), row.id) + "/"
        item = PostRow(id=row.id, blog=row.blog, url=row.url, title=_title(row.data), state=row.state.value,
                       published=row.published)
        for ref, activity in refs:
            if str(activity).startswith(prefix):
                _count(deliveries[ref], item.counts)
        out.append(item)
    return out, total


def _title(data: dict[str, Any]) -> str:
    title = data.get("title") or data.get("summary") or ""
    if not title:
        from bridge.blog.content import text_of

        title = text_of(data.get("content_html") or "")
    title = " ".join(str(title).split())
    return title[:120] + ("…" if len(title) > 120 else "") or "(untitled)"


async def post_deliveries(config: Config, post_id: int) -> tuple[BlogPost | None, list[DeliveryRow]]:
    """A post and every delivery of its activities, failures first."""
    row = await BlogPost.get_or_none(id=post_id)
    if row is None:
        return None, []
    prefix = post_object_id(actor_id(config.server.base_url, row.blog), row.id) + "/"
    activities = {a.id: a for a in await OutboundActivity.filter(activity_id__startswith=prefix)}
    out = []
    for job in await Job.filter(kind=Deliver.KIND).order_by("-id"):
        ref = job.payload.get("activity_ref")
        if ref in activities:
            out.append(DeliveryRow(job_id=job.id, inbox=job.payload.get("inbox", "?"), state=job.state.value,
                                   attempts=job.attempts, last_error=job.last_error, updated_at=job.updated_at,
                                   activity_type=str(activities[ref].body.get("type", "?"))))
    order = {JobState.DEAD.value: 0, JobState.QUEUED.value: 1, JobState.RUNNING.value: 2, JobState.DONE.value: 3}
    out.sort(key=lambda d: (order.get(d.state, 9), d.inbox))
    return row, out


async def redeliver_post(config: Config, post_id: int) -> list[int]:
    """The dead delivery jobs of a post's activities (to be retried)."""
    _row, deliveries = await post_deliveries(config, post_id)
    return [d.job_id for d in deliveries if d.state == JobState.DEAD.value]


async def unavailable_hosts() -> list[RemoteHost]:
    """Hosts marked unavailable, and hosts failing now (not yet marked), worst first."""
    return await RemoteHost.filter(failures__gt=0).order_by("-failures", "host")


async def reset_host(host: str) -> bool:
    count = await RemoteHost.filter(host=host).update(failures=0, unavailable_since=None, last_failure_at=None,
                                                      last_error=None)
    return count > 0


async def dead_jobs(offset: int = 0) -> tuple[list[Job], int]:
    query = Job.filter(state=JobState.DEAD)
    return await query.order_by("-finished_at", "-id").offset(offset).limit(PAGE), await query.count()


def row_id(raw: str | None) -> int | None:
    """A row id as typed in a path or a form: our ids' one rule (bridge/core/urls.py `parse_id`)."""
    return urls.parse_id(raw) if raw else None


def number(raw: str | None, default: int) -> int:
    """A paging offset or a count from a query string: ASCII digits within a BIGINT, else the default."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return default
    return int(raw)

