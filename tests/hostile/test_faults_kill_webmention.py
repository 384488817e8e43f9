"""kill -9 of a real `bridge serve` while it is sending webmentions to a slow receiver.

60 published interactions, each with its `webmention.send` job queued (as the inbox flow
leaves them: row and job in one transaction). The blog is a real local server in this
process: each post page advertises its endpoint (`<link rel="webmention">`), and the
endpoint takes a moment before it answers 202 (so the kill lands while POSTs are in
flight). After some webmentions arrived the daemon is killed with SIGKILL and started
again. Then: every interaction's webmention reached the blog at least once (a POST in
flight at the kill may arrive twice, which Webmention allows: a receiver treats a resend
as an update), every interaction is recorded as sent with its endpoint, status and time,
each has exactly one job and it is done, and none is dead, stuck or half-recorded."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.config import Config
from bridge.core.clock import utcnow
from bridge.jobs.kinds import SendWebmention
from bridge.keys import INSTANCE_ACTOR, ensure_keys
from bridge.models import Interaction, InteractionKind, InteractionState, Job, JobState, WebmentionState
from bridge.webmention.send import queue_webmention
from tests.procs import BridgeProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]
PUBLIC = "https://bridge.example"
COUNT = 60


class SlowBlog:
    """Post pages with an endpoint; the endpoint answers 202 after a moment."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()  # target → webmentions answered 202
        self.sources: dict[str, set[str]] = {}
        self.origin = ""

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text='<!doctype html><link rel="webmention" href="/webmention"><p>a post</p>',
                            content_type="text/html")

    async def endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        await asyncio.sleep(0.4)  # a slow receiver: the kill lands while POSTs are in flight
        target, source = str(form.get("target", "")), str(form.get("source", ""))
        self.received[target] += 1
        self.sources.setdefault(target, set()).add(source)
        return web.Response(status=202, text="accepted")


async def test_kill_9_while_sending_webmentions_loses_none(write_config: Any, free_port: int, bridge_cmd: list[str],
                                                           bridge_env: dict[str, str], database: Config) -> None:
    await ensure_keys(["blog", INSTANCE_ACTOR])
    blog = SlowBlog()
    app = web.Application()
    app.router.add_get("/posts/{n}", blog.page)
    app.router.add_post("/webmention", blog.endpoint)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    blog.origin = str(server.make_url("")).rstrip("/")
    targets: dict[int, str] = {}
    for n in range(COUNT):
        row = await Interaction.create(
            blog="blog", kind=InteractionKind.LIKE if n % 2 else InteractionKind.REPLY,
            object_id=f"https://social.example/users/a/statuses/{n}", actor_uri="https://social.example/users/a",
            host="social.example", target_url=f"{blog.origin}/posts/{n}", state=InteractionState.PUBLISHED,
            published=utcnow(), content="<p>hello</p>")
        await queue_webmention(row, "new")
        targets[row.id] = row.target_url
    path = write_config(port=free_port, queue="concurrency = 6\nlease_seconds = 3.0\nretry_base_seconds = 1.0")
    cmd = [*bridge_cmd, "-c", str(path), "serve"]
    first = BridgeProcess(cmd, bridge_env, path.with_name("first.log"))
    second: BridgeProcess | None = None
    try:
        await first.wait_http(f"http://127.0.0.1:{free_port}/healthz")

        async def some_sent() -> bool:
            return len(blog.received) >= 10

        await eventually(some_sent, 60, "10 webmentions")
        first.signal(signal.SIGKILL)
        assert await first.wait(10) == -signal.SIGKILL
        cut_off = len(blog.received)
        assert cut_off < COUNT, "killed after the work was over"
        # What the kill left: some jobs still queued or running (a lease nobody will renew).
        assert await Job.filter(kind=SendWebmention.KIND, state__in=[JobState.QUEUED, JobState.RUNNING]).exists()
        second = BridgeProcess(cmd, bridge_env, path.with_name("second.log"))
        await second.wait_http(f"http://127.0.0.1:{free_port}/healthz")

        async def all_received() -> bool:
            return set(blog.received) == set(targets.values())

        await eventually(all_received, 120, "a webmention for every interaction")

        async def settled() -> bool:
            return not await Job.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists()

        await eventually(settled, 60, "the queue to drain")
    finally:
        first.kill()
        if second is not None:
            second.kill()
        await server.close()
    # Delivered at least once each, from its own interaction page.
    assert set(blog.received) == set(targets.values())
    for row_id, target in targets.items():
        assert blog.sources[target] == {f"{PUBLIC}/interactions/{row_id}"}
    # Nothing half-written: one job per interaction, done; each interaction recorded as sent.
    jobs = await Job.filter(kind=SendWebmention.KIND)
    assert sorted(j.payload["interaction"] for j in jobs) == sorted(targets)
    assert all(j.state is JobState.DONE for j in jobs), [(j.id, j.state, j.last_error) for j in jobs]
    assert not await Job.filter(state=JobState.DEAD).exists()
    for row in await Interaction.all():
        assert row.webmention_state is WebmentionState.SENT, (row.id, row.webmention_state, row.webmention_error)
        assert row.webmention_status == 202 and row.webmention_endpoint == f"{blog.origin}/webmention"
        assert row.webmention_sent_at is not None and row.webmentions_sent >= 1
        assert row.webmention_error is None
    assert "Traceback" not in (first.logs() + (second.logs() if second else ""))
