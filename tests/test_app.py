"""The app factory in-process: probes, the outbound client, and its own worker."""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import HTTP, WORKER, make_app
from bridge.config import Config
from bridge.jobs.kinds import PluginJob
from bridge.jobs.store import JobContext, enqueue
from bridge.models import Job, JobState
from bridge.net.fetch import user_agent


async def test_probes_and_the_worker_inside_the_app(config: Config) -> None:
    seen: list[tuple[int, str]] = []

    async def record(job: Job, ctx: JobContext) -> None:
        seen.append((job.id, ctx.http.headers["User-Agent"]))

    app = make_app(config, handlers={"record": record})
    async with TestClient(TestServer(app)) as client:
        assert app[HTTP].headers["User-Agent"] == user_agent("https://bridge.example/")
        assert "(+https://bridge.example/)" in app[HTTP].headers["User-Agent"]
        resp = await client.get("/healthz")
        assert resp.status == 200 and (await resp.json())["status"] == "ok"
        resp = await client.get("/readyz")
        assert resp.status == 200 and await resp.json() == {"status": "ready", "database": "ok"}

        job = await enqueue(PluginJob("record", {}))
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen == [(job.id, user_agent("https://bridge.example/"))]
        assert WORKER in app
    # The cleanup context closed the database: nothing is left half-done.
    assert app[HTTP].closed


async def test_app_without_workers_leaves_jobs_queued(config: Config) -> None:
    app = make_app(config, workers=False)
    async with TestClient(TestServer(app)) as client:
        job = await enqueue(PluginJob("record", {}))
        await asyncio.sleep(0.5)
        assert (await Job.get(id=job.id)).state is JobState.QUEUED
        assert WORKER not in app
        assert (await client.get("/healthz")).status == 200


async def test_cleanup_in_another_task_closes_the_database(config: Config, is_postgres: bool) -> None:
    """tortoise keeps its connections in a contextvar; a test fixture's teardown (or any
    runner) may clean the app up in another task than the one that started it. The
    connections must be closed anyway: an open aiosqlite connection's thread keeps the
    process from exiting (a CI run hung on it)."""
    if is_postgres:
        pytest.skip("aiosqlite's connection threads are what is counted here")

    def sqlite_threads() -> int:
        return sum(1 for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive())

    before = sqlite_threads()
    server = TestServer(make_app(config, workers=False))
    await asyncio.create_task(server.start_server())
    assert sqlite_threads() > before
    await asyncio.create_task(server.close())
    for _ in range(50):  # the thread ends once it has handled the close
        if sqlite_threads() == before:
            break
        await asyncio.sleep(0.05)
    assert sqlite_threads() == before
