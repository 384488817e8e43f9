"""Recording a post as just read: new, changed (an edit), or gone (a deletion), with the
`publish` job its change causes, in one transaction (publish/fanout.py sends it).

The one place a post's row changes: the poller (publish/polling.py), `bridge publish URL`
and the blog's ping (webmention/receive.py) all come here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bridge.blog.post import post_to_dict
from bridge.config import BlogConfig
from bridge.jobs.store import utcnow
from bridge.models import BlogPost, BlogState, PostState
from bridge.net.fetch import HTTPStatusError
from bridge.publish import reader
from bridge.publish.fanout import enqueue_publish

log = logging.getLogger("bridge.polling")


class Change(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    GONE = "gone"
    FAILED = "failed"



async def record_post(
    blog: str,
    read: reader.ReadResult,
    *,
    feed_fingerprint: str | None = None,
    announce: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> Change:
    """Store a post as just read; say whether it is new, changed or unchanged."""
    post = read.post
    url = post.url or read.url
    now = clock()
    fingerprint = post.fingerprint()
    values: dict[str, Any] = {
        "data": post_to_dict(post),
        "sources": dict(post.sources),
        "fingerprint": fingerprint,
        "published": post.published,
        "etag": read.etag,
        "last_modified": read.last_modified,
        "fetched_at": now,
    }
    if feed_fingerprint is not None:
        values["feed_fingerprint"] = feed_fingerprint
    try:
        async with in_transaction():
            existing = await BlogPost.filter(blog=blog, url=url).select_for_update().first()
            if existing is None:
                row = await BlogPost.create(blog=blog, url=url, announce=announce, first_seen_at=now, changed_at=now, **values)
                change = Change.NEW
                if announce:  # its Create, committed with the row (bridge/publish/fanout.py)
                    await enqueue_publish(blog, row.id, change.value, fingerprint)
            elif existing.fingerprint != fingerprint or existing.state is PostState.GONE:
                await BlogPost.filter(id=existing.id).update(state=PostState.LIVE, gone_at=None, changed_at=now, **values)
                change = Change.CHANGED
                # An edit → Update; a post back after a 404 was Deleted on the fediverse → Create again.
                again = Change.NEW if existing.state is PostState.GONE and existing.announce else change
                await enqueue_publish(blog, existing.id, again.value, fingerprint)
            else:
                await BlogPost.filter(id=existing.id).update(**values)
                change = Change.UNCHANGED
    except IntegrityError:
        change = Change.UNCHANGED  # another process recorded it a moment ago
    if change is not Change.UNCHANGED:
        log.info("post.%s blog=%s url=%s fingerprint=%s", change.value, blog, url, fingerprint[:12])
    return change


async def mark_gone(blog: str, url: str, *, reason: str = "", clock: Callable[[], datetime] = utcnow) -> Change:
    """Record that a known post is gone (`reason`: its permalink answers 404/410, or its
    REST JSON says it is not public); its Delete is queued with it."""
    async with in_transaction():
        row = await BlogPost.filter(blog=blog, url=url, state=PostState.LIVE).select_for_update().first()
        if row is not None:
            await BlogPost.filter(id=row.id).update(state=PostState.GONE, gone_at=clock(), changed_at=clock())
            await enqueue_publish(blog, row.id, Change.GONE.value, f"{clock().timestamp():.0f}")
    if row is not None:
        log.info("post.gone blog=%s url=%s reason=%s", blog, url, reason or "-")
        return Change.GONE
    return Change.UNCHANGED


async def publish_now(session: Any, blog: BlogConfig, url: str, *, clock: Callable[[], datetime] = utcnow) -> Change:
    """Read one post now (`bridge publish URL`, the webmention ping) and record it: its
    Create, Update or Delete is queued with it. Raises FetchError when the page cannot be
    read (a 404/410 of a post never recorded included)."""
    state = await BlogState.get_or_none(name=blog.name)
    try:
        read = await reader.read_post(session, url, feed_url=blog.feed or (state.feed_url if state else None),
                                      home_url=blog.url)
    except HTTPStatusError as exc:
        if exc.status not in (404, 410):
            raise
        change = await mark_gone(blog.name, url, reason=f"HTTP {exc.status}", clock=clock)
        if change is Change.UNCHANGED and not await BlogPost.exists(blog=blog.name, url=url):
            raise
        return change
    if read.rest_gone is not None:  # a cached page of a trashed post: recorded as gone, never as new
        why = f"wp-rest {read.rest_gone}"
        change = await mark_gone(blog.name, url, reason=why, clock=clock)
        if change is Change.UNCHANGED:
            log.info("post.not_public blog=%s url=%s reason=%s", blog.name, url, why)
        return change
    return await record_post(blog.name, read, clock=clock)
