"""Sending webmentions (bridge/webmention/send.py) to real local endpoints that record what they
receive: 2xx success (201's Location kept), 4xx final and recorded, 5xx retried through the
queue (failed for good on the last attempt), no endpoint recorded, one discovery per target
within the cache's life; and the CLI: `bridge webmention send` and `bridge interactions`."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge import db
from bridge.app import BUILTIN_HANDLERS, new_http_session, prepare_storage
from bridge.config import Config, load_config
from bridge.core.clock import utcnow
from bridge.jobs.kinds import SendWebmention
from bridge.jobs.retry import PermanentError
from bridge.jobs.store import JobContext, enqueue
from bridge.models import Interaction, InteractionKind, InteractionState, Job, WebmentionState
from bridge.webmention.send import SendFailed

BASE = "https://bridge.example"


class Blog:
    def __init__(self) -> None:
        self.gets: list[str] = []
        self.posts: list[tuple[str, dict[str, str]]] = []
        self.origin = ""

    async def page(self, request: web.Request) -> web.Response:
        self.gets.append(request.path)
        name = request.match_info["name"]
        if name == "none":
            return web.Response(text="<p>no endpoint</p>", content_type="text/html")
        return web.Response(text=f'<link rel="webmention" href="/wm/{name}"><p>post</p>', content_type="text/html")

    async def endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.posts.append((request.path, {k: str(v) for k, v in form.items()}))
        status = int(request.match_info["status"])
        headers = {"Location": f"{self.origin}/status/1"} if status == 201 else {}
        return web.Response(status=status, text=f"answer {status}", headers=headers)


@pytest.fixture
async def blog() -> AsyncIterator[Blog]:
    b = Blog()
    app = web.Application()
    app.router.add_get("/post/{name}", b.page)
    app.router.add_post("/wm/{status}", b.endpoint)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    b.origin = str(server.make_url("")).rstrip("/")
    yield b
    await server.close()


async def interaction(target: str, n: int) -> Interaction:
    return await Interaction.create(
        blog="blog", kind=InteractionKind.LIKE, object_id=f"https://social.example/users/a#likes/{n}",
        actor_uri="https://social.example/users/a", host="social.example", target_url=target,
        state=InteractionState.PUBLISHED, published=utcnow())


async def run(ctx: JobContext, row: Interaction, attempts: int = 1) -> Job:
    job = await enqueue(SendWebmention(row.id, "new"))
    job.attempts = attempts
    await BUILTIN_HANDLERS[job.kind](job, ctx)
    return job


async def test_outcomes_are_recorded_on_the_interaction(blog: Blog, database: Config) -> None:
    async with new_http_session(database) as http:
        ctx = JobContext(config=database, http=http)
        ok = await interaction(f"{blog.origin}/post/201", 1)
        await run(ctx, ok)
        row = await Interaction.get(id=ok.id)
        assert (row.webmention_state, row.webmention_status, row.webmentions_sent) == (WebmentionState.SENT, 201, 1)
        assert row.webmention_location == f"{blog.origin}/status/1"
        assert blog.posts == [("/wm/201", {"source": f"{BASE}/interactions/{ok.id}", "target": ok.target_url})]

        refused = await interaction(f"{blog.origin}/post/400", 2)
        with pytest.raises(PermanentError):
            await run(ctx, refused)
        row = await Interaction.get(id=refused.id)
        assert (row.webmention_state, row.webmention_status) == (WebmentionState.FAILED, 400)
        assert "answer 400" in (row.webmention_error or "")

        broken = await interaction(f"{blog.origin}/post/503", 3)
        with pytest.raises(SendFailed) as info:
            await run(ctx, broken)
        assert not info.value.final
        assert (await Interaction.get(id=broken.id)).webmention_state is WebmentionState.QUEUED  # retried
        with pytest.raises(SendFailed):
            await run(ctx, broken, attempts=database.queue.max_attempts)
        assert (await Interaction.get(id=broken.id)).webmention_state is WebmentionState.FAILED  # the last attempt

        none = await interaction(f"{blog.origin}/post/none", 4)
        await run(ctx, none)
        assert (await Interaction.get(id=none.id)).webmention_state is WebmentionState.NO_ENDPOINT

        # The endpoint of a target is discovered once within the cache's life.
        again = await interaction(f"{blog.origin}/post/201", 5)
        await run(ctx, again)
        assert blog.gets.count("/post/201") == 1 and len([p for p in blog.posts if p[0] == "/wm/201"]) == 2


async def test_a_refused_address_is_final(blog: Blog, database: Config) -> None:
    strict = replace(database, security=replace(database.security, allow_private_addresses=False))
    async with new_http_session(strict) as http:
        row = await interaction(f"{blog.origin}/post/202", 1)
        with pytest.raises(PermanentError):
            await run(JobContext(config=strict, http=http), row)
        assert (await Interaction.get(id=row.id)).webmention_state is WebmentionState.FAILED
        assert blog.gets == []


async def bridge(cmd: list[str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [*cmd, *args], env=env, capture_output=True, text=True,
                                   timeout=120)


async def test_cli_webmention_send(blog: Blog, write_config: Callable[..., Path], bridge_cmd: list[str],
                                   bridge_env: dict[str, str]) -> None:
    path = str(write_config())
    source = f"{BASE}/interactions/1"
    done = await bridge(bridge_cmd, bridge_env, "-c", path, "webmention", "send", source, f"{blog.origin}/post/202")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [f"endpoint: {blog.origin}/wm/202", "status: 202"]
    assert blog.posts == [("/wm/202", {"source": source, "target": f"{blog.origin}/post/202"})]
    done = await bridge(bridge_cmd, bridge_env, "-c", path, "webmention", "send", source, f"{blog.origin}/post/404")
    assert done.returncode == 1 and "HTTP 404" in done.stderr and "(final)" in done.stderr
    done = await bridge(bridge_cmd, bridge_env, "-c", path, "webmention", "send", source, f"{blog.origin}/post/none")
    assert done.returncode == 1 and "advertises no webmention endpoint" in done.stderr
    done = await bridge(bridge_cmd, bridge_env, "-c", path, "webmention", "send", source, "ftp://x.example/")
    assert done.returncode == 2 and "TARGET must be an http(s) URL" in done.stderr


async def test_cli_interactions(write_config: Callable[..., Path], bridge_cmd: list[str],
                                bridge_env: dict[str, str]) -> None:
    path = write_config("[moderation]\nhold_interactions = true\n")
    config = load_config(path, env={})
    await prepare_storage(config)
    try:
        held = await interaction("http://127.0.0.1:9/post", 1)
        await Interaction.filter(id=held.id).update(state=InteractionState.HELD, author_handle="a@social.example")
    finally:
        await db.close_db()
    args = [bridge_cmd, bridge_env, "-c", str(path), "interactions"]
    done = await bridge(*args, "--held")  # type: ignore[arg-type]
    assert done.returncode == 0 and done.stdout.split("\t")[:6] == [
        str(held.id), "blog", "like", "held", "public", "webmention none"]
    assert "@a@social.example" in done.stdout and f"{BASE}/interactions/{held.id}" in done.stdout
    done = await bridge(*args, "approve", str(held.id))  # type: ignore[arg-type]
    assert done.returncode == 0 and "approved; its webmention is queued" in done.stdout
    done = await bridge(*args, "--held")  # type: ignore[arg-type]
    assert done.stdout == "no interactions held for approval\n"
    done = await bridge(*args, "approve", str(held.id))  # type: ignore[arg-type]
    assert done.returncode == 1 and "is published, not held" in done.stderr
    done = await bridge(*args, "resend", "x")  # type: ignore[arg-type]
    assert done.returncode == 2 and "ID must be a number" in done.stderr
    done = await bridge(*args, "reject", "999")  # type: ignore[arg-type]
    assert done.returncode == 1 and "no interaction 999" in done.stderr
    done = await bridge(*args, "reject", str(held.id))  # type: ignore[arg-type]
    assert done.returncode == 0 and "rejected" in done.stdout
    done = await bridge(*args)  # type: ignore[arg-type]
    assert "\trejected\t" in done.stdout
