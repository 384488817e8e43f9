"""Regressions of issue 16, at the HTTP boundary: URLs that look like ours but that we never
minted, arriving from the fediverse (a signed reply posted to the inbox, its job run) and
from the blog (a post whose reply link is one, published through the blog's ping).

Before the router (bridge/core/urls.py) a reply `inReplyTo` `…/interactions/<25 digits>`
raised OverflowError in its job, retried for ~50 hours; `…/interactions/١` and `…/01`
threaded the reply under interaction 1; a blog post replying to `…/interactions/²` made
its publish job raise and from then on every GET of the outbox page answered 500.
Each is now "not ours": handled once, no exception, no retry, nothing threaded wrongly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import BUILTIN_HANDLERS, make_app
from bridge.appkeys import CONTEXT
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.jobs.kinds import Ping, ProcessInbox, Publish
from bridge.jobs.worker import Worker
from bridge.models import BlogPost, Interaction, InteractionKind, InteractionState, Job, JobState, Visibility
from tests.fedi import Peer
from tests.hostile.inbox_world import PUBLIC, SHARED, stage

pytestmark = pytest.mark.usefixtures("database")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at ERROR or above, or carrying a traceback: what a bug leaves in the log."""
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_replies_to_interaction_ids_we_never_minted_are_ignored_once(
        database: Config, caplog: pytest.LogCaptureFixture) -> None:
    now = utcnow()
    post = await BlogPost.create(blog="blog", url="http://127.0.0.1:9/2026/a-post/", data={"title": "A post"},
                                 fingerprint="f", fetched_at=now, changed_at=now, published=now)
    parent = await Interaction.create(
        blog="blog", kind=InteractionKind.REPLY, object_id="https://social.example/users/bob/statuses/1",
        actor_uri="https://social.example/users/bob", host="social.example", target_url=post.url, post_id=post.id,
        state=InteractionState.PUBLISHED, visibility=Visibility.PUBLIC, published=now)
    page = urls.interaction_page(PUBLIC, parent.id)
    bogus = [f"{PUBLIC}/interactions/9999999999999999999999999",  # past BIGINT
             f"{PUBLIC}/interactions/{str(parent.id).translate(ARABIC_INDIC)}",  # the same number in another script
             f"{PUBLIC}/interactions/0{parent.id}",  # a leading zero
             f"{PUBLIC}/interactions/²"]
    async with stage(database) as s:
        for n, ref in enumerate([*bogus, page], start=1):
            note = {"id": f"{s.alice}/statuses/{n}", "type": "Note", "attributedTo": s.alice, "inReplyTo": ref,
                    "content": f"<p>reply {n}</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
            body = json.dumps(s.activity(id=f"{s.alice}/statuses/{n}/activity", object=note)).encode()
            status, answer = await s.post(body, s.signed(body, path=SHARED), path=SHARED)
            assert status == 202, answer
        worker = Worker(database.queue, BUILTIN_HANDLERS, context=s.client.app[CONTEXT])
        caplog.clear()
        with caplog.at_level(logging.INFO):
            await worker.run_until_idle()
    jobs = await Job.filter(kind=ProcessInbox.KIND)
    assert len(jobs) == 5 and {(j.state, j.attempts) for j in jobs} == {(JobState.DONE, 1)}  # once each, no retry
    assert errors(caplog) == []
    assert caplog.text.count("interaction.ignored") == len(bogus)
    # Only the reply to the page we minted is threaded under its parent (it shows the test can see threading).
    replies = await Interaction.exclude(id=parent.id)
    assert [(r.object_id, r.parent_id, r.in_reply_to) for r in replies] == [(f"{s.alice}/statuses/5", parent.id, page)]


async def test_a_blog_post_replying_to_a_url_we_never_minted_publishes_and_the_outbox_stays_up(
        write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    blog = await Peer.start()
    answer = "/2026/12/an-answer/"
    blog.serve(answer, f"""<!doctype html><html><head><title>An answer</title></head><body>
<article class="h-entry"><h1 class="p-name">An answer</h1><a class="u-url" href="{answer}">permalink</a>
<p>In reply to <a class="u-in-reply-to" href="{PUBLIC}/interactions/²">a comment</a></p>
<div class="e-content"><p>Thanks for the comment!</p></div>
<time class="dt-published" datetime="2026-12-01T10:00:00+00:00">1 December</time></article>
</body></html>""".encode(), content_type="text/html; charset=utf-8")
    config = load_config(write_config(blog_url=blog.url("/"), base_url=PUBLIC), env={})
    try:
        async with TestClient(TestServer(make_app(config, workers=False))) as client:
            # The blog's Webmention plugin pings the bridge: source the post, target a page of the bridge it links to.
            response = await client.post(urls.PING_PATH, data={"source": blog.url(answer), "target": PUBLIC + "/"})
            assert response.status == 202, await response.text()
            worker = Worker(config.queue, BUILTIN_HANDLERS, context=client.app[CONTEXT])
            caplog.clear()
            with caplog.at_level(logging.INFO):
                await worker.run_until_idle()
            jobs = await Job.filter(kind__in=[Ping.KIND, Publish.KIND]).order_by("id")
            assert [(j.kind, j.state, j.attempts) for j in jobs] == [(Ping.KIND, JobState.DONE, 1),
                                                                       (Publish.KIND, JobState.DONE, 1)]
            assert errors(caplog) == []
            outbox = await client.get("/users/blog/outbox?page=true", headers={"Accept": "application/activity+json"})
            assert outbox.status == 200, await outbox.text()
            [create] = (await outbox.json())["orderedItems"]
            assert create["object"]["url"] == blog.url(answer) and "inReplyTo" not in create["object"]
    finally:
        await blog.close()
