"""Delivery of one activity to one inbox: each failure class against a real local server
that verifies our signature (tests/fedi.py `Peer`), the host limits, unavailable hosts."""

from __future__ import annotations

import asyncio
import socket
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
from bridge.net.hosts import HostHealth, failure_days
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
    # The default retry policy (a first retry after ~5 s); short timeouts keep the tests fast.
    return load_config(write_config(
        "[delivery]\ntimeout_seconds = 1.0\nper_host_concurrency = 2\n", queue="concurrency = 64"), env={})


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


@pytest.mark.parametrize("status", [500, 503])
async def test_a_first_5xx_is_tried_again_within_seconds_and_counts_a_failure_day(
        ctx: JobContext, peer: Peer, status: int) -> None:
    """Issue 19: most 5xx last a moment (a restart): the first retry comes after ~5 s, not 30."""
    peer.serve("/inbox", {"error": "boom"}, status=status)  # a 503 without Retry-After: our backoff
    before = datetime.now(UTC)
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert f"answered {status}" in (job.last_error or "")
    assert 4 <= (job.run_after - before).total_seconds() <= 7  # retry_base_seconds = 5, ±20%
    host = await RemoteHost.get(host=f"127.0.0.1:{peer.server.port}")
    assert host.failures == 1 and host.unavailable_since is None
    assert ctx.state(HostHealth).limits.failing(host.host)  # one delivery at a time to it now
    await deliver(ctx, peer.url("/inbox"))  # one 5xx is weather: the next is tried
    assert len(peer.seen) == 2


async def test_a_host_that_refused_is_not_tried_by_the_next_delivery_until_it_has_cooled_down(ctx: JobContext) -> None:
    """Issue 19: a host that just failed doesn't get the next slot. A circuit breaker, as
    Mastodon's: the next delivery is not sent; it counts an attempt and comes back when the
    host has cooled down (5 s, doubling while it stays down)."""
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        inbox = f"http://127.0.0.1:{closed.getsockname()[1]}/inbox"
        before = datetime.now(UTC)
        first = await deliver(ctx, inbox)
        assert first.attempts == 1 and "Connect" in (first.last_error or ""), first.last_error
        limits = ctx.state(HostHealth).limits
        host = inbox.split("/")[2]
        assert limits.failing(host) and 4 < limits.cooling(host) <= 5
        other = await deliver(ctx, inbox.replace("/inbox", "/users/bob/inbox"))
        assert other.state is JobState.QUEUED and other.attempts == 1
        assert (other.last_error or "").startswith(f"RetryLater: {host} failed moments ago; not tried"), other.last_error
        assert 3 <= (other.run_after - before).total_seconds() <= 6
        limits.clock = lambda: time.monotonic() + 5  # cooled down: the next one is the probe, and is sent
        third = await deliver(ctx, inbox)
        assert "Connect" in (third.last_error or "") and 9 <= limits.cooling(host) <= 10  # down still: 10 s now


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
@pytest.mark.parametrize("retry_after", [2, 3600])
async def test_429_and_503_come_back_when_retry_after_says(ctx: JobContext, peer: Peer, status: int,
                                                           retry_after: int) -> None:
    """Issue 19: Retry-After as given, sooner than our backoff (2 s, not 5 nor 30) or later."""
    peer.serve("/inbox", {"error": "slow down"}, status=status, headers={"Retry-After": str(retry_after)})
    before = datetime.now(UTC)
    job = await deliver(ctx, peer.url("/inbox"))
    after = datetime.now(UTC)
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert retry_after <= (job.run_after - before).total_seconds()
    assert (job.run_after - after).total_seconds() <= retry_after + 0.01  # no jitter on what was asked


async def test_a_429_lowers_the_hosts_share_for_a_while(ctx: JobContext, peer: Peer) -> None:
    host = f"127.0.0.1:{peer.server.port}"
    limits = ctx.state(HostHealth).limits
    assert limits.limit(host) == 1  # not heard from yet
    peer.serve("/inbox", b"", status=202)
    await deliver(ctx, peer.url("/inbox"))
    assert limits.limit(host) == 2  # per_host_concurrency
    peer.serve("/inbox", {"error": "slow down"}, status=429, headers={"Retry-After": "2"})
    await deliver(ctx, peer.url("/inbox"))
    assert limits.limit(host) == 1 and not limits.failing(host)  # polite, not given up on
    peer.serve("/inbox", b"", status=202)
    await deliver(ctx, peer.url("/inbox"))
    assert limits.limit(host) == 1  # for the minute at least, whatever answers meanwhile


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
        # The slow host, not heard from yet, gets one request at a time; its other jobs
        # wait a moment or are deferred, so the good host is served at once.
        assert len(peer.seen) == 6 and elapsed < 0.9, elapsed  # before the first 1 s timeout
        assert len(slow.seen) == 1  # one at a time to a host that has not answered
    finally:
        await slow.close()


class Silent:
    """A server that accepts connections and never answers; counts them, and how many were
    open at once."""

    def __init__(self) -> None:
        self.open = self.most = self.accepted = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await reader.read()  # until the client hangs up
        finally:
            self.open -= 1
            writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_host_that_never_answers_holds_one_slot_while_the_others_are_served(
        write_config: Any, database: Config, peer: Peer) -> None:
    """Issue 19: 3 of 50 servers that never answer held 3 of the 8 slots for 30 s each. Now
    one request at a time goes to a host not heard from; after it went unanswered, none while
    the host cools down (its other deliveries are not tried, they come back after it); the
    good host is served meanwhile, at its full share."""
    config = load_config(write_config("[delivery]\ntimeout_seconds = 0.5\nper_host_concurrency = 4\n",
                                      queue="concurrency = 128"), env={})
    await ensure_keys(["blog"])
    silent = Silent()
    dead = await silent.start()
    for n in range(8):
        await enqueue(Deliver("blog", f"{dead}/inbox{n}", activity=ACTIVITY))
    served = asyncio.Event()

    async def slow_ok(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        if len(peer.seen) >= 16:
            served.set()
        return web.Response(status=202)

    for n in range(16):
        peer.routes[f"/inbox{n}"] = slow_ok
        await enqueue(Deliver("blog", peer.url(f"/inbox{n}"), activity=ACTIVITY))
    session = new_http_session(config)
    w = Worker(config.queue, BUILTIN_HANDLERS, context=JobContext(config=config, http=session))
    running = asyncio.create_task(w.run())
    try:
        started = time.monotonic()
        await asyncio.wait_for(served.wait(), 5)
        good_done = time.monotonic() - started
        await asyncio.sleep(max(0.0, 3.0 - good_done))  # past several 0.5 s timeouts of the dead host
    finally:
        w.stop()
        await running
        await session.close()
        await silent.close()
    # 16 deliveries of 0.1 s, 4 at a time after a first one, the others waiting for a slot
    # (not deferred for a second): ~0.5 s, with no wait for the dead host.
    assert good_done < 0.9, good_done
    assert silent.most == 1, silent.most  # never two requests at once to the host that never answers
    assert silent.accepted == 1, silent.accepted  # and after its timeout, none while it cools down (5 s)
    host = dead.removeprefix("http://")
    assert ctx_limits_failing(w, host)
    jobs = await Job.filter(state=JobState.QUEUED)
    tried = [job for job in jobs if job.last_error]
    assert len(jobs) == 8 and len(tried) == 1 and "timeout after 0.5 s" in (tried[0].last_error or "")
    # The other seven, waiting for its one slot, were sent away when it failed, without an
    # attempt, to come back when it has cooled down (5 s after the failure, ~3 s ago).
    waiting = [job for job in jobs if not job.last_error]
    assert all(job.attempts == 0 and job.run_after > datetime.now(UTC) + timedelta(seconds=1) for job in waiting)


def ctx_limits_failing(w: Worker, host: str) -> bool:
    return w.context.state(HostHealth).limits.failing(host)


async def test_a_host_that_does_not_accept_connections_is_given_up_on_after_the_connect_timeout(
        write_config: Any, database: Config) -> None:
    """The connect timeout (delivery.connect_timeout_seconds) is much shorter than the whole
    delivery's: a server that does not take connections is given up on quickly."""
    config = load_config(write_config("[delivery]\ntimeout_seconds = 20\nconnect_timeout_seconds = 0.3\n"), env={})
    await ensure_keys(["blog"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted, and the queue filled below: new connections hang
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    session = new_http_session(config)
    try:
        await asyncio.sleep(0.1)
        started = time.monotonic()
        job = await deliver(JobContext(config=config, http=session), f"http://127.0.0.1:{port}/inbox")
        elapsed = time.monotonic() - started
    finally:
        await session.close()
        for sock in (*fillers, listener):
            sock.close()
    assert elapsed < 3, elapsed  # not the 20 s of timeout_seconds
    assert job.state is JobState.QUEUED and "connect timeout after 0.3 s" in (job.last_error or ""), job.last_error


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
    ctx.state(HostHealth).limits.clock = lambda: time.monotonic() + 86_460  # its cooling down is long over
    job = await deliver(ctx, peer.url("/inbox"))
    assert job.state is JobState.DONE and len(peer.seen) == 2
    row = await RemoteHost.get(host=host)
    assert (row.failures, row.unavailable_since) == (0, None)
