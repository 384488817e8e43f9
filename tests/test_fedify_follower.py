"""Done-when of issue 6: an independent ActivityPub implementation (Fedify, from npm, in
tests/peers/fedify-follower.mjs) follows the blog by its handle, gets the Accept, and
receives a Create for a new post, an Update for an edit and a Delete for a removal — each
accepted by Fedify's inbox only after its own HTTP signature check. The bridge is the
real app (HTTP and queue worker) over TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bridge.app import make_app, new_http_session
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.jobs.kinds import Poll
from bridge.jobs.store import JobContext
from bridge.models import BlogPost, Follower, FollowState, Job
from bridge.publish.record import Change, publish_now

from .blogserver import BlogServer
from .fedi import NODE, PEERS, require_node_peers
from .test_fedify_account import self_signed

BLOG = "http://127.0.0.1:8765/"
SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"


class Follower_:
    """The Fedify process and the lines it printed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("received") == kind]

    async def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.received(kind):
            if time.monotonic() > deadline or self.proc.returncode is not None:
                err = await self.proc.stderr.read() if self.proc.returncode is not None and self.proc.stderr else b""
                raise AssertionError(f"no {kind} from the bridge: {self.lines} {err.decode()[-2000:]}")
            await asyncio.sleep(0.05)
        return self.received(kind)[-1]

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
        self.reader.cancel()


async def test_fedify_follows_by_handle_and_receives_create_update_delete(
    tmp_path: Path, write_config: Callable[..., Path], free_port: int, database: Config
) -> None:
    require_node_peers()
    base = f"https://127.0.0.1:{free_port}"
    path = write_config("[delivery]\nmax_post_age_days = 100000.0\n", base_url=base, blog_url=BLOG, name="fedify.toml")
    config = load_config(path, env={})
    context, cert = self_signed(tmp_path)

    async def no_poll(job: Job, ctx: JobContext) -> None:
        """Posts come by publish_now here: a first poll would record them unannounced."""

    blog = await BlogServer.wordpress("twentytwentyone").start()
    server = TestServer(make_app(config, handlers={Poll.KIND: no_poll}), port=free_port)
    await server.start_server(ssl=context)
    proc = await asyncio.create_subprocess_exec(
        str(NODE), str(PEERS / "fedify-follower.mjs"), json.dumps({"handle": f"acct:blog@127.0.0.1:{free_port}"}),
        cwd=str(PEERS), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)},
    )
    fedify = Follower_(proc)
    actor = urls.actor_id(base, "blog")
    try:
        accept = await fedify.wait_for("Accept")
        [ready] = [line for line in fedify.lines if "ready" in line]
        assert ready["blog"] == actor
        assert accept["actor"] == actor
        assert accept["activity"]["object"]["id"] == ready["follow"]  # the Follow echoed, same id
        alice = f"{ready['ready']}/users/alice"
        row = await Follower.get(actor_uri=alice)
        assert row.state is FollowState.ACCEPTED and row.shared_inbox == f"{ready['ready']}/inbox"

        async with new_http_session(config) as session:
            assert await publish_now(session, config.blogs[0], SEED) is Change.NEW
            create = await fedify.wait_for("Create")
            post = await BlogPost.get(url=SEED)
            object_id = urls.post_object_id(actor, post.id)
            assert create["actor"] == actor and create["activity"]["object"]["id"] == object_id
            assert create["activity"]["object"]["name"] == "Binge-learning certificates"

            for route in (("/2019/06/12/binge-learning-certificates/", ()), ("/wp-json/wp/v2/posts/5", ())):
                blog.routes[route].body = blog.routes[route].body.replace(
                    b"Binge-learning certificates", b"Binge-learning certificates, revisited")
            # The edit, read on a clock 2 s past the first reading (no sleeping): an Update
            # carries `updated` only past 1 s (bridge/publish/documents.py).
            edited = post.first_seen_at + timedelta(seconds=2)
            assert await publish_now(session, config.blogs[0], SEED, clock=lambda: edited) is Change.CHANGED
            update = await fedify.wait_for("Update")
            assert update["activity"]["object"]["id"] == object_id
            assert update["activity"]["object"]["name"] == "Binge-learning certificates, revisited"

            blog.add(SEED, b"gone", {"Content-Type": "text/html"}, status=410)
            assert await publish_now(session, config.blogs[0], SEED) is Change.GONE
            delete = await fedify.wait_for("Delete")
            assert delete["actor"] == actor
            assert json.dumps(delete["activity"]["object"]).count(object_id) >= 1
        assert not [line for line in fedify.lines if "error" in line], fedify.lines
    finally:
        await fedify.close()
        await server.close()
        await blog.stop()
