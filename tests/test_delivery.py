"""Delivery of one activity to one inbox: each failure class against a real local server
that verifies our signature (tests/fedi.py `Peer`), the host limits, unavailable hosts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bridge.app import BUILTIN_HANDLERS, new_http_session
from bridge.config import Config, load_config
from bridge.jobs.kinds import Deliver
from bridge.jobs.store import JobContext, enqueue
from bridge.jobs.worker import Worker
from bridge.keys import active_key, ensure_keys
from bridge.models import Follower, Job, JobState, RemoteHost
from bridge.net.hosts import failure_days
from bridge.publish.delivery import Verdict, classify, retry_after_seconds
from bridge.signatures import Scheme
from tests.fedi import Peer

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
ACTIVITY = {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://bridge.example/users/blog/posts/1/create",
            "type": "Create", "actor": "https://bridge.example/users/blog", "object": {"id": "https://bridge.example/users/blog/posts/1"}}


# -- the pure part --------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "retry_after", "verdict", "after"), [
    (202, None, Verdict.DONE, 0.0),
    (200, None, Verdict.DONE, 0.0),
    (410, None, Verdict.GONE, 0.0),
    (404, None, Verdict.PERMANENT, 0.0),
    (429, "120", Verdict.RETRY_AFTER, 120.0),
    (503, "Sat, 01 Mar 2025 12:05:00 GMT", Verdict.RETRY_AFTER, 300.0),
    (429, None, Verdict.RETRY, 0.0),
    (500, None, Verdict.RETRY, 0.0),
    (401, None, Verdict.RETRY, 0.0),
])
def test_classify(status: int, retry_after: str | None, verdict: Verdict, after: float) -> None:
    got = classify(status, retry_after, NOW)
    assert (got.verdict, got.after) == (verdict, after)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("  30 ", NOW) == 30.0
    assert retry_after_seconds("Sat, 01 Mar 2025 11:00:00 GMT", NOW) == 0.0  # in the past: now
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None


def test_failure_days_count_separate_days() -> None:
    assert failure_days(0, None, NOW) == 1
    assert failure_days(1, NOW - timedelta(hours=1), NOW) == 1  # the same day
    assert failure_days(1, NOW - timedelta(days=1), NOW) == 2


# -- the job, against real servers -----------------------------------------------------------

@pytest.fixture
def dconfig(write_config: Any) -> Config:
    return load_config(write_config(
        "[delivery]\ntimeout_seconds = 1.0\nper_host_concurrency = 2\n",
        queue="concurrency = 4\nretry_base_seconds = 60.0"), env={})


@pytest.fixture
async def ctx(dconfig: Config, database: Config) -> AsyncIterator[JobContext]:
    await ensure_keys(["blog"])
    session = new_http_session(dconfig)
    try:
        yield JobContext(config=dconfig, http=session)
    finally:
        await session.close()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    p = await Peer.start()
    try:
        yield p
    finally:
        await p.close()


def worker(ctx: JobContext) -> Worker:
    assert ctx.config is not None
    return Worker(ctx.config.queue, BUILTIN_HANDLERS, context=ctx)


async def deliver(ctx: JobContext, inbox: str, *, follower: str | None = None) -> Job:
    job = await enqueue(Deliver("blog", inbox, activity=ACTIVITY, follower=follower))
    await worker(ctx).run_once()
    return await Job.get(id=job.id)


async def test_202_is_done_and_the_request_is_signed_as_the_blog(ctx: JobContext, peer: Peer) -> None:
    peer.verify_with = (await active_key("blog")).public_pem
    peer.serve("/inbox", b"", status=202)
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.DONE
    [seen] = peer.seen
    assert seen.method == "POST" and seen.verified is Scheme.CAVAGE
    assert dict(seen.headers)["Signature"].startswith('keyId="https://bridge.example/users/blog#main-key"')
    assert seen.body.startswith(b'{"@context"') and b'"type": "Create"' in seen.body


async def test_500_backs_off_and_counts_a_failure_day(ctx: JobContext, peer: Peer) -> None:
    peer.serve("/inbox", {"error": "boom"}, status=500)
    before = datetime.now(UTC)
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert "answered 500" in (job.last_error or "")
    assert 40 <= (job.run_after - before).total_seconds() <= 80  # retry_base_seconds = 60, ±20%
    host = await RemoteHost.get(host=f"127.0.0.1:{peer.server.port}")
    assert host.failures == 1 and host.unavailable_since is None


async def test_410_from_a_followers_inbox_is_permanent_and_removes_the_follower(ctx: JobContext, peer: Peer) -> None:
    alice = peer.url("/users/alice")
    await Follower.create(blog="blog", actor_uri=alice, inbox=peer.url("/users/alice/inbox"))
    peer.serve("/users/alice/inbox", {"error": "gone"}, status=410)
    job = await deliver(ctx, peer.url("/users/alice/inbox"), follower=alice)
    assert job.state is JobState.DEAD and "permanent" in (job.last_error or "")
    assert not await Follower.exists(actor_uri=alice)


async def test_404_is_permanent_and_keeps_the_follower(ctx: JobContext, peer: Peer) -> None:
    alice = peer.url("/users/alice")
    await Follower.create(blog="blog", actor_uri=alice, inbox=peer.url("/users/alice/inbox"))
    job = await deliver(ctx, peer.url("/users/alice/inbox"), follower=alice)
    assert job.state is JobState.DEAD
    assert await Follower.exists(actor_uri=alice)


@pytest.mark.parametrize("status", [429, 503])
async def test_429_and_503_honour_retry_after(ctx: JobContext, peer: Peer, status: int) -> None:
    peer.serve("/inbox", {"error": "slow down"}, status=status, headers={"Retry-After": "3600"})
    before = datetime.now(UTC)
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.QUEUED
    assert 3599 <= (job.run_after - before).total_seconds() <= 3700  # not the 60 s backoff


async def test_a_hanging_server_times_out_and_backs_off(ctx: JobContext, peer: Peer) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(status=202)

    peer.routes["/inbox"] = hang
    started = time.monotonic()
    job = await deliver(ctx, peer.url("/inbox"))
    assert time.monotonic() - started < 5  # delivery.timeout_seconds = 1
    assert job.state is JobState.QUEUED and "timeout" in (job.last_error or "")


async def test_a_connection_reset_backs_off(ctx: JobContext) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.transport.abort()  # RST, no answer

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        job = await deliver(ctx, f"http://127.0.0.1:{port}/inbox")
    finally:
        server.close()
        await server.wait_closed()
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert "Disconnected" in (job.last_error or "") or "reset" in (job.last_error or "").lower()


async def test_a_hanging_host_does_not_delay_the_others(ctx: JobContext, peer: Peer) -> None:
    slow = await Peer.start()

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(status=202)

    try:
        for n in range(6):
            slow.routes[f"/inbox{n}"] = hang
            await enqueue(Deliver("blog", slow.url(f"/inbox{n}"), activity=ACTIVITY))
        for n in range(6):
            peer.serve(f"/inbox{n}", b"", status=202)
            await enqueue(Deliver("blog", peer.url(f"/inbox{n}"), activity=ACTIVITY))
        w = worker(ctx)
        running = asyncio.create_task(w.run())
        started = time.monotonic()
        while len(peer.seen) < 6 and time.monotonic() - started < 10:
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        w.stop()
        await running
        # The slow host holds at most per_host_concurrency (2) of the 4 worker slots; its
        # other jobs are deferred, not waited for, so the good host is served at once.
        assert len(peer.seen) == 6 and elapsed < 0.9, elapsed  # before the first 1 s timeout
        assert len(slow.seen) == 2  # at most two at a time to one host
    finally:
        await slow.close()


async def test_a_host_failing_on_seven_days_is_skipped_until_it_speaks(ctx: JobContext, peer: Peer) -> None:
    host = f"127.0.0.1:{peer.server.port}"
    now = datetime.now(UTC)
    await RemoteHost.create(host=host, failures=6, last_failure_at=now - timedelta(days=1))
    peer.serve("/inbox", {"error": "boom"}, status=500)
    await deliver(ctx, peer.url("/inbox"))  # the 7th day of failures
    row = await RemoteHost.get(host=host)
    assert row.failures == 7 and row.unavailable_since is not None
    peer.serve("/inbox", b"", status=202)
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.DONE and len(peer.seen) == 1  # skipped: nothing sent
    # A day later one try gets through, and a success makes the host available again.
    await RemoteHost.filter(host=host).update(last_failure_at=now - timedelta(days=1, minutes=1))
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.DONE and len(peer.seen) == 2
    row = await RemoteHost.get(host=host)
    assert (row.failures, row.unavailable_since) == (0, None)
