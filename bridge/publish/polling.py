"""Polling a blog: read its feed, read each new or changed post, record what changed.

A flow: it connects the reader (network and translators) to the stored posts.
- New: a permalink never seen. On a blog's first poll the posts found were
  there before the bridge, so they are recorded with `announce=False`.
- Changed: the normalised post's fingerprint differs from the stored one.
- Gone: the permalink answers 404 or 410; or it still answers (a page cache's stale
  copy) while the post's WordPress REST JSON says it is trashed, private or a draft
  (`ReadResult.rest_gone`, only where the page links its REST JSON).
A feed item whose own fingerprint is unchanged is not read again for a while.

Feeds list only the newest posts, so leaving the feed is no proof of deletion: a post
older than the oldest one listed has scrolled out, and is never checked. A live post
that leaves the feed while older posts are still listed (trashed, or excluded from the
feed) is checked, as above: when first seen missing (`missing_since` is set then), then
every REREAD_SECONDS while it stays missing; at most MISSING_CHECKS a poll, newest first.
Listed again, it is no longer missing. The feed is read with its validators (ETag,
Last-Modified), but in full every FULL_READ_SECONDS: WordPress's validators follow the
newest change among published posts, so trashing an older post leaves them as they were
and a conditional read would answer 304 for ever. The blogger's answers to comments
(`POST#comment-N`, webmention/receive.py) are posts of ours that no feed lists: never
checked as missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bridge.blog.feeds import Feed
from bridge.blog.merge import with_blog_overrides
from bridge.blog.post import profile_to_dict
from bridge.config import BlogConfig
from bridge.jobs.kinds import ActorUpdate, Poll
from bridge.jobs.store import JobContext, enqueue, utcnow
from bridge.models import BlogPost, BlogState, Job, PostState
from bridge.net.fetch import FetchError, HTTPStatusError
from bridge.publish import reader
from bridge.publish.record import Change, mark_gone, record_post

log = logging.getLogger("bridge.polling")

MAX_ITEMS = 50  # newest feed items considered per poll
# A feed may carry only excerpts, so an edit can leave its item unchanged: each
# listed post's page is read again at least this often.
REREAD_SECONDS = 6 * 3600
MISSING_CHECKS = 20  # missing posts checked per poll, newest first; the others on the next poll
MAX_LISTED = 1000  # feed items that count as listed (a feed of every post ever is not unheard of)
FULL_READ_SECONDS = 900  # the feed is read without validators at least this often


def conditional_read(last_poll: datetime | None, now: datetime) -> bool:
    """Whether a poll now sends the feed's validators: not the first in each
    FULL_READ_SECONDS slot of the clock (so every poll reads in full when polls are further apart)."""
    return last_poll is not None and \
        int(last_poll.timestamp() // FULL_READ_SECONDS) == int(now.timestamp() // FULL_READ_SECONDS)


@dataclass
class PollReport:
    blog: str
    feed_url: str | None = None
    first_poll: bool = False
    not_modified: bool = False
    error: str | None = None
    changes: list[tuple[Change, str, str]] = field(default_factory=list)  # (change, url, detail)
    missing: int = 0  # of `changes`, the last ones: posts checked because they left the feed

    def count(self, change: Change) -> int:
        return sum(1 for c, _url, _detail in self.changes if c is change)

    def summary(self) -> str:
        if self.error:
            return f"{self.blog}: poll failed: {self.error}"
        counts = ", ".join(f"{self.count(c)} {c.value}" for c in Change if self.count(c))
        missing = f", {self.missing} missing from it checked" if self.missing else ""
        if self.not_modified:
            return f"{self.blog}: feed not modified since the last poll" + (f"{missing}: {counts}" if missing else "")
        first = " (first poll: existing posts recorded, not announced)" if self.first_poll else ""
        items = len(self.changes) - self.missing
        return f"{self.blog}: {items} feed items{missing}: {counts or 'none'}{first}"


Progress = Callable[[Change, str, str], None]


async def poll_blog(
    session: Any,
    blog: BlogConfig,
    *,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
    on_total: Callable[[int], None] | None = None,
) -> PollReport:
    """Poll one blog's feed once; record new, changed and gone posts."""
    started = time.monotonic()
    state, _ = await BlogState.get_or_create(name=blog.name)
    report = PollReport(blog=blog.name, first_poll=state.polls == 0)
    feed_url = blog.feed or state.feed_url
    try:
        if feed_url is None:
            link = await reader.discover_feed(session, blog.url)
            if link is None:
                raise ValueError(f"no feed on {blog.url} (no rel=alternate feed link, no h-feed); set blogs.feed")
            feed_url = link.url
        same_feed = feed_url == state.feed_url and conditional_read(state.last_poll_at, clock())
        result = await reader.read_feed(
            session,
            feed_url,
            etag=state.feed_etag if same_feed else None,
            last_modified=state.feed_last_modified if same_feed else None,
        )
    except (FetchError, ValueError) as exc:
        report.error = str(exc) or type(exc).__name__
        await BlogState.filter(name=blog.name).update(last_poll_at=clock(), last_poll_error=report.error[:2000])
        log.warning("poll.failed blog=%s feed=%s error=%s", blog.name, feed_url, report.error)
        return report
    report.feed_url = feed_url
    report.not_modified = result.not_modified
    await _refresh_profile(session, blog, state, feed_url, clock=clock)
    items = [(item.url, item) for item in result.feed.items[:MAX_ITEMS] if item.url] if result.feed is not None else []
    if on_total:  # how many items this poll reads (for a progress bar)
        on_total(len(items))
    for url, item in items:
        change, detail = await _poll_item(session, blog.name, item, feed_url, result.feed,
                                           announce=not report.first_poll, clock=clock)
        report.changes.append((change, url, detail))
        if progress:
            progress(change, url, detail)
    missing, more = await _missing_posts(blog.name, result.feed, clock=clock)
    if missing and on_total:
        on_total(len(items) + len(missing))
    for row in missing:
        change, detail = await _check_missing(session, blog.name, row, feed_url, result.feed, clock=clock)
        report.changes.append((change, row.url, detail))
        report.missing += 1
        if progress:
            progress(change, row.url, detail)
    # Left for the next poll (a post that could not be read, missing posts past
    # MISSING_CHECKS): the feed's validators are dropped, so it reads the feed in full.
    pending = more or report.count(Change.FAILED) > 0
    await BlogState.filter(name=blog.name).update(
        feed_url=feed_url,
        feed_etag=None if pending else result.etag,
        feed_last_modified=None if pending else result.last_modified,
        polls=state.polls + 1,
        last_poll_at=clock(),
        last_poll_error=None,
    )
    log.info(
        "poll.done blog=%s feed=%s items=%d missing=%d new=%d changed=%d gone=%d failed=%d not_modified=%s ms=%d",
        blog.name, feed_url, len(report.changes) - report.missing, report.missing, report.count(Change.NEW),
        report.count(Change.CHANGED), report.count(Change.GONE), report.count(Change.FAILED), report.not_modified,
        (time.monotonic() - started) * 1000,
    )
    return report


async def _refresh_profile(
    session: Any, blog: BlogConfig, state: BlogState, feed_url: str, *, clock: Callable[[], datetime]
) -> None:
    """Read the blog's profile on the first poll and then every REREAD_SECONDS; keep it if it fails."""
    if state.profile_read_at is not None and (clock() - state.profile_read_at).total_seconds() < REREAD_SECONDS:
        return
    try:
        profile = await reader.read_profile(session, blog.url, feed_url=feed_url)
    except (FetchError, ValueError) as exc:
        log.warning("profile.failed blog=%s error=%s", blog.name, exc)
        return
    profile = with_blog_overrides(profile, blog)
    fingerprint = profile.fingerprint()
    changed = fingerprint != state.profile_fingerprint
    if changed:
        log.info("profile.%s blog=%s name=%r", "changed" if state.profile else "read", blog.name, profile.name)
    async with in_transaction():
        await BlogState.filter(name=blog.name).update(
            profile={**profile_to_dict(profile), "sources": dict(profile.sources)},
            profile_fingerprint=fingerprint,
            profile_read_at=clock(),
        )
        if changed and state.profile:  # followers see the new name, bio, avatar
            await enqueue(ActorUpdate(blog.name, "profile changed"),
                          dedupe_key=f"{ActorUpdate.KIND}:{blog.name}:{fingerprint[:16]}")


async def _poll_item(
    session: Any, blog: str, item: Any, feed_url: str, feed: Feed | None, *, announce: bool,
    clock: Callable[[], datetime],
) -> tuple[Change, str]:
    feed_fingerprint = item.post.fingerprint()
    known = await BlogPost.get_or_none(blog=blog, url=item.url)
    if (
        known is not None
        and known.state is PostState.LIVE
        and known.feed_fingerprint == feed_fingerprint
        and (clock() - known.fetched_at).total_seconds() < REREAD_SECONDS
    ):
        return Change.UNCHANGED, known.data.get("title") or ""
    read, change, detail = await _read(session, blog, item.url, feed_url, feed, clock=clock)
    if read is None:
        return change, detail
    change = await record_post(blog, read, feed_fingerprint=feed_fingerprint, announce=announce, clock=clock)
    return change, read.post.title or ""


async def _read(
    session: Any, blog: str, url: str, feed_url: str | None, feed: Feed | None, *,
    clock: Callable[[], datetime],
) -> tuple[reader.ReadResult | None, Change, str]:
    """Read a post: (None, GONE, why) when its page or its REST JSON says it is gone (the
    post at `url` is marked so), (None, FAILED, error) when it cannot be read, else (the
    reading, UNCHANGED, "") for the caller to record."""
    try:
        read = await reader.read_post(session, url, feed_url=feed_url, feed=feed)
    except HTTPStatusError as exc:
        if exc.status in (404, 410):
            why = f"HTTP {exc.status}"
            return None, await mark_gone(blog, url, reason=why, clock=clock), why
        return None, Change.FAILED, str(exc)
    except FetchError as exc:
        return None, Change.FAILED, str(exc)
    if read.rest_gone is not None:
        why = f"wp-rest {read.rest_gone}"
        return None, await mark_gone(blog, url, reason=why, clock=clock), why
    return read, Change.UNCHANGED, ""


async def _missing_posts(
    blog: str, feed: Feed | None, *, clock: Callable[[], datetime]
) -> tuple[list[BlogPost], bool]:
    """The live posts to check because they left the feed while older posts are still
    listed: first seen missing now, or still missing and not read for REREAD_SECONDS; at
    most MISSING_CHECKS, newest first, and whether there are more. `feed` None (not
    modified since the last poll): those that were missing then."""
    due = clock() - timedelta(seconds=REREAD_SECONDS)
    live = BlogPost.filter(blog=blog, state=PostState.LIVE)
    if feed is None:
        query = live.filter(missing_since__isnull=False, fetched_at__lt=due)
    else:
        urls = [item.url for item in feed.items[:MAX_LISTED] if item.url]
        if not urls:  # an empty feed says nothing about any post
            return [], False
        dates = await BlogPost.filter(blog=blog, url__in=urls, published__isnull=False).order_by(
            "published").limit(1).values_list("published", flat=True)
        oldest = dates[0] if dates else None
        # Listed again, or scrolled out past the oldest listed post: no longer missing.
        back = Q(url__in=urls) | Q(published__lt=oldest) if oldest is not None else Q(url__in=urls)
        await BlogPost.filter(back, blog=blog, missing_since__isnull=False).update(missing_since=None)
        if oldest is None:  # no listed post has a date: a scrolled-out post cannot be told apart
            return [], False
        query = live.filter(Q(missing_since__isnull=True) | Q(fetched_at__lt=due), published__gte=oldest).exclude(
            url__in=urls).exclude(url__contains="#")
    rows = await query.order_by("-published").limit(MISSING_CHECKS + 1)
    return rows[:MISSING_CHECKS], len(rows) > MISSING_CHECKS


async def _check_missing(
    session: Any, blog: str, row: BlogPost, feed_url: str | None, feed: Feed | None, *,
    clock: Callable[[], datetime],
) -> tuple[Change, str]:
    """Read a post missing from the feed: gone (404/410, the REST JSON), recorded as read
    (its `fetched_at` says when to check it again), or, unreadable, left for the next poll
    (`missing_since` is set by the first check that tells)."""
    if row.missing_since is None:
        log.info("post.missing blog=%s url=%s", blog, row.url)
    read, change, detail = await _read(session, blog, row.url, feed_url, feed, clock=clock)
    if change is Change.FAILED:
        log.warning("post.check_failed blog=%s url=%s error=%s", blog, row.url, detail)
        return change, detail
    if row.missing_since is None:
        await BlogPost.filter(id=row.id).update(missing_since=clock())
    if read is None:
        return change, detail
    change = await record_post(blog, read, announce=False, clock=clock)
    if (read.post.url or read.url) != row.url:  # recorded under another URL (a redirect): this one is checked too
        await BlogPost.filter(id=row.id).update(fetched_at=clock())
    return change, read.post.title or ""


# -- the daemon's poller ------------------------------------------------------


async def poll_job(spec: Poll, job: Job, ctx: JobContext) -> None:
    """Job handler: poll the blog named in the payload (failures are recorded, not retried:
    the next scheduled poll comes soon enough)."""
    blog = ctx.config.blog(spec.blog)
    await poll_blog(ctx.http, blog)


async def schedule_polls(blogs: tuple[BlogConfig, ...], *, clock: Callable[[], datetime] = utcnow) -> int:
    """Enqueue each blog's poll for the current interval, once across all processes."""
    enqueued = 0
    epoch = clock().timestamp()
    for blog in blogs:
        slot = int(epoch // blog.poll_interval)
        key = f"{Poll.KIND}:{blog.name}:{slot}"
        if not await Job.exists(dedupe_key=key):
            await enqueue(Poll(blog.name), dedupe_key=key)
            enqueued += 1
    return enqueued
