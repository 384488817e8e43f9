"""Threads on a WordPress blog (bridge/webmention/send.py `thread_target_of`), without Node:
the plugin threads a webmention only when its target is `PERMALINK?replytocom=PARENT_ID`,
and the parent's id is public only once the parent comment is approved (tests/wpblog.py,
faithful to the plugin 5.3.3). Comments held for moderation (the plugin's default) leave a
reply to them at the top level; approved, the next reply is threaded, and its target is
kept for its edits and its deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bridge import db
from bridge.app import BUILTIN_HANDLERS, make_app, new_http_session, prepare_storage
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.jobs.kinds import ProcessInbox, SendWebmention
from bridge.jobs.store import JobContext, enqueue
from bridge.models import BlogPost, InboxActivity, Interaction, Job, JobState, RemoteActor

from .wpblog import WordPressBlog

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE, BOB = "https://social.example/users/alice", "https://social.example/users/bob"


@pytest.fixture
async def world(write_config: Callable[..., Path], free_port: int) -> AsyncIterator[tuple[Config, WordPressBlog]]:
    wp = await WordPressBlog().start()  # nothing approved automatically: WordPress's default
    base = f"http://127.0.0.1:{free_port}"
    config = load_config(write_config(base_url=base, blog_url=wp.url, name="wp.toml"), env={})
    await prepare_storage(config)
    server = TestServer(make_app(config, workers=False), port=free_port)  # serves the pages the plugin fetches
    await server.start_server()
    try:
        post = wp.add_post(slug="hello", title="Hello", content_html="<p>Hi.</p>",
                           published=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
        now = utcnow()
        await BlogPost.create(blog="blog", url=post.permalink, data={"title": "Hello"}, fingerprint="f",
                              fetched_at=now, changed_at=now, published=now)
        for uri in (ALICE, BOB):
            user = uri.rsplit("/", 1)[-1]
            await RemoteActor.create(uri=uri, host="social.example", name=user.title(), handle=f"{user}@social.example",
                                     profile_url=f"https://social.example/@{user}", inbox=f"{uri}/inbox", fetched_at=now)
        yield config, wp
    finally:
        await server.close()
        await wp.stop()
        await db.close_db()


async def run_jobs(config: Config) -> None:
    """The queued inbox and webmention jobs, each once, in order (a worker's cycle, by hand)."""
    async with new_http_session(config) as http:
        ctx = JobContext(config=config, http=http)
        while job := await Job.filter(state=JobState.QUEUED, kind__in=[ProcessInbox.KIND, SendWebmention.KIND]
                                      ).order_by("id").first():
            await BUILTIN_HANDLERS[job.kind](job, ctx)
            await Job.filter(id=job.id).update(state=JobState.DONE)


async def reply(config: Config, actor: str, n: int, in_reply_to: str, content: str = "") -> Interaction:
    note = {"id": f"{actor}/statuses/{n}", "type": "Note", "attributedTo": actor, "inReplyTo": in_reply_to,
            "content": content or f"<p>reply {n}</p>", "to": [PUBLIC], "cc": [f"{actor}/followers"]}
    activity: dict[str, Any] = {"id": f"{note['id']}/activity", "type": "Create", "actor": actor, "object": note}
    row = await InboxActivity.create(activity_id=activity["id"], actor=actor, type="Create",
                                     key_id=f"{actor}#main-key", signature_scheme="cavage", body=activity)
    await enqueue(ProcessInbox(row.id, row.activity_id, row.type))
    await run_jobs(config)
    return await Interaction.get(object_id=note["id"])


async def test_a_reply_to_a_pending_comment_stays_top_level_then_threads_once_approved(
    world: tuple[Config, WordPressBlog],
) -> None:
    config, wp = world
    [post] = wp.posts.values()
    base = config.server.base_url
    first = await reply(config, ALICE, 1, post.permalink)
    [c1] = wp.comments
    assert (c1.approved, c1.meta["url"]) == (False, urls.interaction_page(base, first.id))

    # Its parent is pending, so not on the post page: no id to thread under.
    early = await reply(config, BOB, 2, f"{ALICE}/statuses/1")
    assert early.parent_id == first.id and early.webmention_target is None
    [_, c2] = wp.comments
    assert (c2.parent, c2.meta["webmention_target_url"]) == (0, post.permalink)

    # Approved, the parent shows on the page with a link to its source: the next reply is threaded.
    wp.approve(c1.id)
    later = await reply(config, BOB, 3, f"{ALICE}/statuses/1")
    assert later.webmention_target == f"{post.permalink}?replytocom={c1.id}"
    [_, _, c3] = wp.comments
    assert (c3.parent, c3.meta["webmention_target_url"]) == (c1.id, later.webmention_target)

    # Its edit goes to the same target (the plugin finds the comment by source and keeps it in the thread).
    update = {"id": f"{BOB}/statuses/3#edit", "type": "Update", "actor": BOB,
              "object": {"id": f"{BOB}/statuses/3", "type": "Note", "attributedTo": BOB,
                         "inReplyTo": f"{ALICE}/statuses/1", "content": "<p>edited</p>", "to": [PUBLIC],
                         "updated": "2026-11-24T07:00:00Z"}}
    row = await InboxActivity.create(activity_id=update["id"], actor=BOB, type="Update", key_id=f"{BOB}#main-key",
                                     signature_scheme="cavage", body=update)
    await enqueue(ProcessInbox(row.id, row.activity_id, row.type))
    await run_jobs(config)
    assert [r.target for r in wp.received][-1] == later.webmention_target
    assert len(wp.comments) == 3 and "edited" in wp.comment(c3.id).content and wp.comment(c3.id).parent == c1.id
